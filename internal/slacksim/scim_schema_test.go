package slacksim_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestSCIMDiscovery(t *testing.T) {
	t.Parallel()
	e := scimSetup(t, scimConfig())
	tests := []struct {
		path  string
		check func(t *testing.T, body map[string]any)
	}{
		{"ServiceProviderConfig", func(t *testing.T, b map[string]any) {
			if got := fmt.Sprint(b["schemas"]); got != "[urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig]" {
				t.Errorf("got schemas %s, want the ServiceProviderConfig schema", got)
			}
			if got := b["patch"].(map[string]any)["supported"]; got != true {
				t.Errorf("got patch.supported %v, want true", got)
			}
			if got := b["filter"].(map[string]any)["maxResults"]; got != float64(1000) {
				t.Errorf("got filter.maxResults %v, want 1000", got)
			}
			if got := b["bulk"].(map[string]any)["supported"]; got != false {
				t.Errorf("got bulk.supported %v, want false", got)
			}
		}},
		{"ServiceProviderConfigs", func(t *testing.T, b map[string]any) { // v1's name, which Slack's Java SDK asks v2 for
			if got := fmt.Sprint(b["schemas"]); got != "[urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig]" {
				t.Errorf("got schemas %s, want the ServiceProviderConfig schema", got)
			}
		}},
		{"ResourceTypes", func(t *testing.T, b map[string]any) {
			rs := scimResources(t, b)
			if got := scimIDs(rs); !slices.Equal(got, []string{"User", "Group"}) {
				t.Errorf("got resource types %v, want [User Group]", got)
			}
		}},
		{"ResourceTypes/User", func(t *testing.T, b map[string]any) {
			if b["endpoint"] != "/Users" || b["schema"] != "urn:ietf:params:scim:schemas:core:2.0:User" {
				t.Errorf("got %v, want the User resource type", b)
			}
		}},
		{"Schemas", func(t *testing.T, b map[string]any) {
			ids := scimIDs(scimResources(t, b))
			for _, want := range []string{
				"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
				"urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User",
			} {
				if !slices.Contains(ids, want) {
					t.Errorf("got schemas %v, want %s among them", ids, want)
				}
			}
		}},
		{"Schemas/Users", func(t *testing.T, b map[string]any) {
			if b["id"] != "urn:ietf:params:scim:schemas:core:2.0:User" {
				t.Errorf("got id %v, want the core User schema", b["id"])
			}
			var names []string
			for _, a := range b["attributes"].([]any) {
				names = append(names, a.(map[string]any)["name"].(string))
			}
			if !slices.Contains(names, "userName") || !slices.Contains(names, "emails") {
				t.Errorf("got attributes %v, want userName and emails", names)
			}
		}},
		{"Schemas/Groups", func(t *testing.T, b map[string]any) {
			if b["id"] != "urn:ietf:params:scim:schemas:core:2.0:Group" {
				t.Errorf("got id %v, want the core Group schema", b["id"])
			}
		}},
		{"Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", func(t *testing.T, b map[string]any) {
			if b["name"] != "EnterpriseUser" {
				t.Errorf("got name %v, want EnterpriseUser", b["name"])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			status, hdr, body := e.call(http.MethodGet, tt.path, "Bearer "+e.token, nil)
			if status != http.StatusOK {
				t.Fatalf("got status %d, want 200: %v", status, body)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("got Content-Type %q, want JSON", ct)
			}
			tt.check(t, body)
		})
	}
}
