package instance

import (
	"net/http"
	"slices"
	"strings"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/store"
)

// SCIMFeature is the catalog's feature for provisioning over SCIM: its
// editions are the plans Slack offers SCIM on, its user scope the one the
// token needs (FACTS 5).
const SCIMFeature = "scim"

// SCIMReadiness says whether in can provision over SCIM, and if not, why and
// how to fix it, as the Problem its SCIM calls are answered with: nil when it
// can. Slack's SCIM takes an admin's user token with the admin scope, on
// Business+ or Enterprise Grid, and on Grid from an org-wide install by an
// org owner.
func SCIMReadiness(in store.Instance) *apierror.Problem {
	switch in.Status {
	case store.StatusActive, store.StatusNeedsReauth:
	default:
		msg := "the instance is " + in.Status
		if in.StatusReason != "" {
			msg += ": " + in.StatusReason
		}
		return apierror.New(http.StatusConflict, "instance_not_active", msg)
	}
	c, _ := connector.Get(in.Connector)
	i := slices.IndexFunc(c.Features, func(f connector.Feature) bool { return f.Key == SCIMFeature })
	if i < 0 {
		return apierror.New(http.StatusNotImplemented, "scim_unsupported", "the "+in.Connector+" connector does not provision over SCIM")
	}
	f := c.Features[i]
	e, known := c.Edition(in.Edition)
	if !slices.Contains(f.Editions, in.Edition) {
		plans := make([]string, 0, len(f.Editions))
		for _, k := range f.Editions {
			if pe, ok := c.Edition(k); ok {
				plans = append(plans, pe.Name)
			}
		}
		name := in.Edition
		if known {
			name = e.Name
		}
		return apierror.New(http.StatusForbidden, "scim_plan_required",
			"Slack offers SCIM on "+strings.Join(plans, ", ")+"; this instance is on "+name+
				". If the workspace's plan changed, set the instance's edition (PATCH /v1/instances/{id}) and re-authenticate")
	}
	if in.UserToken.IsZero() || !hasAll(in.UserScopes, f.UserScopes) {
		return apierror.New(http.StatusForbidden, "scim_scope_missing",
			"SCIM needs a user token with the "+strings.Join(f.UserScopes, ", ")+" scope, granted by a workspace owner or admin"+gridHint(e)+
				": make an instance whose scopes include it (its edition's do) and have an owner or admin allow it at Slack")
	}
	if e.OrgInstall && !in.OrgWide {
		return apierror.New(http.StatusForbidden, "scim_org_install_required",
			"on Enterprise Grid, SCIM acts on the whole org and takes an org-wide install by an org owner: re-authenticate the instance org-wide")
	}
	return nil
}

func gridHint(e connector.Edition) string {
	if e.OrgInstall {
		return " (on Enterprise Grid, an org owner installing org-wide)"
	}
	return ""
}

func hasAll(granted, needed []string) bool {
	for _, s := range needed {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	return true
}
