package httpapi

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/authz"
)

// documentProxy describes the pass-through routes in the OpenAPI document.
// They are served by internal/proxy, not by huma: the bodies are Slack's, in
// and out, streamed as they are, so the document names them without
// validating them.
func (a *API) documentProxy() {
	method := &huma.Param{Name: "method", In: "path", Required: true, Description: "A Slack Web API method, e.g. users.list or auth.test",
		Schema: &huma.Schema{Type: "string", Pattern: `^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$`, Examples: []any{"auth.test"}}}
	tokenKind := &huma.Param{Name: "X-Connhub-Token", In: "header", Description: "Which of the instance's Slack tokens to call with: bot or user. Without it, the user token for the methods Slack takes user tokens only for (and on instances without a bot token), the bot token otherwise; the user token only where the instance's allow_user_token lets it",
		Schema: &huma.Schema{Type: "string", Enum: []any{"bot", "user"}}}
	instance := &huma.Param{Name: "id", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}}
	body := &huma.RequestBody{Description: "Slack's arguments, as Slack takes them: a form, JSON or multipart. A form body may carry the instance token as token, as Slack clients send it.",
		Content: map[string]*huma.MediaType{
			"application/x-www-form-urlencoded": {Schema: &huma.Schema{Type: "object", AdditionalProperties: true}},
			"application/json":                  {Schema: &huma.Schema{Type: "object", AdditionalProperties: true}},
		}}
	responses := map[string]*huma.Response{
		"200": {Description: "Slack's answer, as Slack sent it (ok:false answers are HTTP 200 too)",
			Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{Type: "object", AdditionalProperties: true}}}},
		"401": {Description: "Unknown or revoked credentials"},
		"429": {Description: "Slack's Retry-After was longer than connhub waits; retry after it"},
		"502": {Description: "Slack could not be reached"},
	}
	for _, route := range []struct {
		path, id, summary string
		params            []*huma.Param
	}{
		{"/v1/slack/{method}", "slack", "Call Slack as the instance the credentials name", []*huma.Param{method, tokenKind}},
		{"/v1/instances/{id}/slack/{method}", "instance-slack", "Call Slack as an instance, with an API token", []*huma.Param{instance, method, tokenKind}},
	} {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			op := &huma.Operation{OperationID: route.id + "-" + map[string]string{"GET": "get", "POST": "post"}[m], Method: m, Path: route.path,
				Summary: route.summary, Tags: []string{"Slack"}, Parameters: route.params, Responses: responses,
				Description: "Passes the call to Slack's Web API with the instance's Slack token, paced under Slack's rate limits, and streams Slack's answer back. " +
					"X-Connhub-Pacing-Wait-Ms says how long the call waited for its budget."}
			if m == http.MethodPost {
				op.RequestBody = body
			}
			op.Extensions = map[string]any{ActionExtension: string(authz.Proxy)}
			a.huma.OpenAPI().AddOperation(op)
		}
	}
}
