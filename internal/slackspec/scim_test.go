package slackspec_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/connhub/connhub/internal/slackspec"
)

func TestSCIMLimits(t *testing.T) {
	names := func(ls []slackspec.SCIMLimit) (out []string) {
		for _, l := range ls {
			out = append(out, l.Name)
		}
		return out
	}
	for _, c := range []struct {
		verb, resource string
		byID           bool
		want           []string
	}{
		{http.MethodGet, "Users", false, []string{"scim.read"}},
		{http.MethodGet, "Users", true, []string{"scim.users.get", "scim.read"}},
		{http.MethodPost, "Users", false, []string{"scim.users.create", "scim.write"}},
		{http.MethodPatch, "Users", true, []string{"scim.users.update", "scim.write"}},
		{http.MethodPut, "Users", true, []string{"scim.users.update", "scim.write"}},
		{http.MethodDelete, "Users", true, []string{"scim.users.delete", "scim.write"}},
		{http.MethodGet, "Groups", true, []string{"scim.groups.get", "scim.read"}},
		{http.MethodPost, "Groups", false, []string{"scim.groups.create", "scim.write"}},
		{http.MethodPatch, "Groups", true, []string{"scim.groups.update", "scim.write"}},
		{http.MethodDelete, "Groups", true, []string{"scim.groups.delete", "scim.write"}},
		{http.MethodGet, "ServiceProviderConfig", false, []string{"scim.read"}},
		{http.MethodPost, "Users", true, []string{"scim.write"}}, // not an endpoint: its set's only
	} {
		got := names(slackspec.SCIMLimits(c.verb, c.resource, c.byID))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %s byID=%v: %v, want %v", c.verb, c.resource, c.byID, got, c.want)
		}
	}
}

func TestBudget(t *testing.T) {
	if n, w, ok := slackspec.Budget("scim.users.create"); !ok || n != 20 || w != 20.0/180 {
		t.Errorf("scim.users.create: %d in %v windows, %v; want 20 in 1/9", n, w, ok)
	}
	if n, w, ok := slackspec.Budget("scim.read"); !ok || n != 1000 || w != 1 {
		t.Errorf("scim.read: %d in %v windows, %v", n, w, ok)
	}
	if n, w, ok := slackspec.Budget("users.list"); !ok || n != 20 || w != 1 {
		t.Errorf("users.list: %d in %v windows, %v; want tier 2's 20 in one", n, w, ok)
	}
	if _, _, ok := slackspec.Budget("oauth.v2.access"); ok {
		t.Error("oauth.v2.access has a budget; Slack sets none")
	}
	if !slackspec.IsSCIMLimit("scim.write") || slackspec.IsSCIMLimit("users.list") {
		t.Error("IsSCIMLimit")
	}
}
