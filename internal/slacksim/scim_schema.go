package slacksim

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

func (c *scimCall) meta(resourceType, path string, created int64) map[string]any {
	m := map[string]any{"resourceType": resourceType, "location": c.base + path}
	if created != 0 {
		m["created"] = time.Unix(created, 0).UTC().Format(scimTimeLayout)
	}
	return m
}

func (c *scimCall) serviceProviderConfig() (*scimReply, *scimError) {
	return &scimReply{status: http.StatusOK, body: map[string]any{
		"schemas":          []string{scimSPConfig},
		"documentationUri": "https://api.slack.com/scim",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": scimMaxCount},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": false},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description":      "Authentication with an OAuth user token that has the admin scope",
			"specUri":          "https://www.rfc-editor.org/info/rfc6750",
			"documentationUri": "https://api.slack.com/authentication/oauth-v2",
		}},
		"meta": c.meta("ServiceProviderConfig", "/ServiceProviderConfig", 0),
	}}, nil
}

func (c *scimCall) resourceTypeOf(name string) map[string]any {
	if name == "User" {
		return map[string]any{
			"schemas": []string{scimResourceType}, "id": "User", "name": "User", "endpoint": "/Users",
			"description": "User Account", "schema": scimCoreUser,
			"schemaExtensions": []map[string]any{
				{"schema": scimEnterprise, "required": false},
				{"schema": scimGuest, "required": false},
				{"schema": scimProfile, "required": false},
			},
			"meta": c.meta("ResourceType", "/ResourceTypes/User", 0),
		}
	}
	return map[string]any{
		"schemas": []string{scimResourceType}, "id": "Group", "name": "Group", "endpoint": "/Groups",
		"description": "Group", "schema": scimCoreGroup, "schemaExtensions": []map[string]any{},
		"meta": c.meta("ResourceType", "/ResourceTypes/Group", 0),
	}
}

func (c *scimCall) resourceTypes() (*scimReply, *scimError) {
	switch strings.ToLower(c.id) {
	case "":
		return scimListOf([]any{c.resourceTypeOf("User"), c.resourceTypeOf("Group")}), nil
	case "user":
		return &scimReply{status: http.StatusOK, body: c.resourceTypeOf("User")}, nil
	case "group":
		return &scimReply{status: http.StatusOK, body: c.resourceTypeOf("Group")}, nil
	}
	return nil, scimErr(http.StatusNotFound, "bad_endpoint", "no resource type "+c.id)
}

func (c *scimCall) schemas() (*scimReply, *scimError) {
	all := scimSchemaDefs()
	render := func(d scimSchemaDef) map[string]any {
		return map[string]any{"schemas": []string{scimSchemaSchema}, "id": d.id, "name": d.name, "description": d.desc,
			"attributes": d.attrs, "meta": c.meta("Schema", "/Schemas/"+d.id, 0)}
	}
	if c.id == "" {
		out := make([]any, len(all))
		for i, d := range all {
			out[i] = render(d)
		}
		return scimListOf(out), nil
	}
	want := c.id
	switch strings.ToLower(want) {
	case "users", "user":
		want = scimCoreUser
	case "groups", "group":
		want = scimCoreGroup
	}
	for _, d := range all {
		if strings.EqualFold(d.id, want) {
			return &scimReply{status: http.StatusOK, body: render(d)}, nil
		}
	}
	return nil, scimErr(http.StatusNotFound, "bad_endpoint", "no schema "+c.id)
}

// scimAttr is one attribute definition of a schema (RFC 7643 section 7).
type scimAttr struct {
	Name            string     `json:"name"`
	Type            string     `json:"type"`
	MultiValued     bool       `json:"multiValued"`
	Description     string     `json:"description"`
	Required        bool       `json:"required"`
	CaseExact       bool       `json:"caseExact"`
	Mutability      string     `json:"mutability"`
	Returned        string     `json:"returned"`
	Uniqueness      string     `json:"uniqueness"`
	CanonicalValues []string   `json:"canonicalValues,omitempty"`
	SubAttributes   []scimAttr `json:"subAttributes,omitempty"`
}

func scimAttrOf(name, typ, desc string) scimAttr {
	return scimAttr{Name: name, Type: typ, Description: desc, Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
}

func (a scimAttr) multi() scimAttr { a.MultiValued = true; return a }

func (a scimAttr) required() scimAttr { a.Required = true; return a }

func (a scimAttr) readOnly() scimAttr { a.Mutability = "readOnly"; return a }

func (a scimAttr) immutable() scimAttr { a.Mutability = "immutable"; return a }

func (a scimAttr) unique() scimAttr { a.Uniqueness = "server"; return a }

func (a scimAttr) writeOnly() scimAttr { a.Mutability, a.Returned = "writeOnly", "never"; return a }

func (a scimAttr) canonical(v ...string) scimAttr {
	a.CanonicalValues = v
	return a
}

func (a scimAttr) sub(s ...scimAttr) scimAttr { a.SubAttributes = s; return a }

type scimSchemaDef struct {
	id, name, desc string
	attrs          []scimAttr
}

var scimSchemaDefs = sync.OnceValue(func() []scimSchemaDef {
	str := func(n, d string) scimAttr { return scimAttrOf(n, "string", d) }
	return []scimSchemaDef{
		{scimCoreUser, "User", "User Account", []scimAttr{
			str("userName", "The Slack username: at most 21 lower-case letters, digits, periods, underscores and hyphens").required().unique(),
			scimAttrOf("name", "complex", "The person's name").sub(
				str("givenName", "Given name"), str("familyName", "Family name"), str("honorificPrefix", "Honorific prefix")),
			str("displayName", "The Slack display name, at most 80 characters"),
			str("nickName", "The Slack username; the same field as userName"),
			scimAttrOf("profileUrl", "reference", "The Slack profile URL").readOnly(),
			str("title", "Title"),
			str("timezone", "An IANA time zone such as America/Chicago"),
			scimAttrOf("active", "boolean", "false for a deactivated account"),
			str("password", "An initial password when the team uses no identity provider").writeOnly(),
			scimAttrOf("emails", "complex", "The primary email and at most one more").multi().required().sub(
				str("value", "Email address"), str("type", "Kind of email").canonical("work", "home", "other"),
				scimAttrOf("primary", "boolean", "The primary email")),
			scimAttrOf("phoneNumbers", "complex", "Phone number").multi().sub(
				str("value", "Phone number"), str("type", "Kind of phone number").canonical("work", "mobile", "other"),
				scimAttrOf("primary", "boolean", "The primary phone number")),
			scimAttrOf("photos", "complex", "Profile photo").multi().sub(
				scimAttrOf("value", "reference", "Photo URL"), str("type", "Kind of photo").canonical("photo")),
			scimAttrOf("roles", "complex", "One free-text role").multi().sub(
				str("value", "Role"), scimAttrOf("primary", "boolean", "The primary role")),
			scimAttrOf("groups", "complex", "The user groups the user belongs to").multi().readOnly().sub(
				str("value", "Group ID").readOnly(), str("display", "Group name").readOnly()),
		}},
		{scimCoreGroup, "Group", "Group", []scimAttr{
			str("displayName", "The user group's name").required(),
			scimAttrOf("members", "complex", "The group's members").multi().sub(
				str("value", "User ID").immutable(), str("display", "The member's name").readOnly()),
		}},
		{scimEnterprise, "EnterpriseUser", "Enterprise User", []scimAttr{
			str("employeeNumber", "Employee number"), str("costCenter", "Cost center"), str("organization", "Organization"),
			str("division", "Division"), str("department", "Department"),
			scimAttrOf("manager", "complex", "The user's manager").sub(str("managerId", "The manager's Slack ID, email or userName")),
		}},
		{scimGuest, "SlackGuestUser", "Slack guest account", []scimAttr{
			str("type", "Guest type: multi (multi-channel) or single (single-channel, read only)").required().canonical("multi", "single"),
			scimAttrOf("expiration", "dateTime", "When the guest account is deactivated"),
		}},
		{scimProfile, "SlackProfileUser", "Slack profile fields", []scimAttr{
			scimAttrOf("startDate", "dateTime", "The person's start date"),
		}},
	}
})
