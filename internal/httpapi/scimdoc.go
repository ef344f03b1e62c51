package httpapi

import (
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/authz"
)

// documentSCIM describes SCIM 2.0 through connhub in the OpenAPI document.
// The routes are served by internal/scim, not by huma: the bodies are
// Slack's SCIM resources, in and out, passed as they are.
func (a *API) documentSCIM() {
	resource := &huma.Param{Name: "resource", In: "path", Required: true, Description: "Users, Groups, ServiceProviderConfig, ResourceTypes or Schemas",
		Schema: &huma.Schema{Type: "string", Enum: []any{"Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas"}}}
	resourceID := &huma.Param{Name: "resource_id", In: "path", Required: true, Description: "A user's (U…, W…) or group's (S…) ID at Slack, or a schema or resource type's name",
		Schema: &huma.Schema{Type: "string"}}
	instance := &huma.Param{Name: "id", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}}
	query := []*huma.Param{
		{Name: "filter", In: "query", Description: `A SCIM filter, e.g. userName eq "ada"`, Schema: &huma.Schema{Type: "string"}},
		{Name: "startIndex", In: "query", Description: "The first result, from 1", Schema: &huma.Schema{Type: "integer"}},
		{Name: "count", In: "query", Description: "Results a page (Slack: 10 by default, at most 1000)", Schema: &huma.Schema{Type: "integer"}},
	}
	scimJSON := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{
			"application/scim+json": {Schema: &huma.Schema{Type: "object", AdditionalProperties: true}}}}
	}
	body := &huma.RequestBody{Description: "A SCIM resource, or for PATCH a PatchOp, as Slack takes it", Content: map[string]*huma.MediaType{
		"application/scim+json": {Schema: &huma.Schema{Type: "object", AdditionalProperties: true}},
		"application/json":      {Schema: &huma.Schema{Type: "object", AdditionalProperties: true}}}}
	errs := map[string]*huma.Response{
		"401": scimJSON("Unknown or revoked credentials"),
		"403": scimJSON("Not allowed, or the instance cannot provision over SCIM (its plan, its token's scopes, a Grid install that is not org-wide): the detail says how to fix it"),
		"429": scimJSON("Slack's SCIM limits: retry after Retry-After"),
		"502": scimJSON("Slack could not be reached"),
	}
	const about = "Passes the call to Slack's SCIM API with the instance's admin user token (refreshed as needed), paced under Slack's " +
		"org-wide SCIM limits, and answers as Slack does. Every call is in the audit log. X-Connhub-Pacing-Wait-Ms says how long it waited for the limits."
	for _, family := range []struct {
		prefix, id, who string
		params          []*huma.Param
	}{
		{"/scim/v2", "scim", "with the instance token as the bearer (an identity provider's)", nil},
		{"/v1/instances/{id}/scim/v2", "instance-scim", "for an instance, with an API token", []*huma.Param{instance}},
	} {
		for _, op := range []struct {
			method, suffix, name, summary string
			action                        authz.Action
			ok                            string
		}{
			{http.MethodGet, "/{resource}", "list", "List SCIM users or groups, or read SCIM's configuration", authz.ReadSCIM, "200"},
			{http.MethodPost, "/{resource}", "create", "Create a SCIM user or group", authz.WriteSCIM, "201"},
			{http.MethodGet, "/{resource}/{resource_id}", "get", "Get a SCIM user or group", authz.ReadSCIM, "200"},
			{http.MethodPut, "/{resource}/{resource_id}", "replace", "Replace a SCIM user or group", authz.WriteSCIM, "200"},
			{http.MethodPatch, "/{resource}/{resource_id}", "patch", "Change a SCIM user or group (PatchOp)", authz.WriteSCIM, "200"},
			{http.MethodDelete, "/{resource}/{resource_id}", "delete", "Deactivate a user (Slack keeps the account), or delete a group", authz.WriteSCIM, "204"},
		} {
			params := append(append([]*huma.Param(nil), family.params...), resource)
			if strings.Contains(op.suffix, "{resource_id}") {
				params = append(params, resourceID)
			}
			if op.name == "list" {
				params = append(params, query...)
			}
			responses := map[string]*huma.Response{op.ok: scimJSON("Slack's answer")}
			if op.ok == "204" {
				responses[op.ok] = &huma.Response{Description: "Done"}
			}
			for k, v := range errs {
				responses[k] = v
			}
			o := &huma.Operation{OperationID: family.id + "-" + op.name, Method: op.method, Path: family.prefix + op.suffix,
				Summary: op.summary + ", " + family.who, Tags: []string{"SCIM"}, Parameters: params, Responses: responses, Description: about,
				Extensions: map[string]any{ActionExtension: string(op.action)}}
			if op.method == http.MethodPost || op.method == http.MethodPut || op.method == http.MethodPatch {
				o.RequestBody = body
			}
			a.huma.OpenAPI().AddOperation(o)
		}
	}
}
