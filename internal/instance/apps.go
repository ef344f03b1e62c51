package instance

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// AppPatch changes a registered app; zero and nil fields stay as they are.
type AppPatch struct {
	Name          *string
	ClientSecret  secrets.Secret
	SigningSecret secrets.Secret
	BotScopes     *[]string
	UserScopes    *[]string
	// AllowUnverified stores a new client secret that cannot be proven at
	// Slack now (no instance of the app has a rotating token to refresh).
	AllowUnverified bool
}

// AppUpdate is what UpdateApp did.
type AppUpdate struct {
	App store.App
	// Verified says how a new client secret was proven: "refreshed the
	// bot token of ins_…", or "not verified" (AllowUnverified); empty when
	// the client secret did not change.
	Verified string
}

// UpdateApp changes a registered app. A new client secret is proven at
// Slack before it is stored: it refreshes a rotating token of one of the
// app's active instances, and the new secret is stored in the transaction
// that stores the refreshed tokens (if Slack refuses it, nothing changes).
// When no instance can prove it, the secret is stored only if the caller
// says AllowUnverified. A signing secret cannot be proven (Slack proves it
// only by signing a request to connhub); it is stored as given.
func (s *Service) UpdateApp(ctx context.Context, p tenant.Principal, id string, patch AppPatch) (AppUpdate, error) {
	if err := authz.Allow(p, authz.WriteApps, ""); err != nil {
		return AppUpdate{}, err
	}
	cur, err := s.store.GetApp(ctx, p.Org.ID, id)
	if err != nil {
		return AppUpdate{}, notFound(err, "app")
	}
	check := AppInput{ClientID: cur.ClientID, ClientSecret: "x"}
	if patch.BotScopes != nil {
		check.BotScopes = *patch.BotScopes
	}
	if patch.UserScopes != nil {
		check.UserScopes = *patch.UserScopes
	}
	if err := check.validate(); err != nil {
		return AppUpdate{}, err
	}
	if patch.Name != nil && (strings.TrimSpace(*patch.Name) == "" || len(*patch.Name) > 200) {
		return AppUpdate{}, apierror.New(http.StatusBadRequest, "invalid_app", "name is 1 to 200 characters")
	}
	rotating := !patch.ClientSecret.IsZero() && !sameSecret(patch.ClientSecret, cur.ClientSecret)
	var out AppUpdate
	change := func(q store.Queries) error {
		var changed []string
		app, err := q.UpdateApp(ctx, p.Org.ID, id, func(a *store.App) error {
			if patch.Name != nil {
				a.Name, changed = strings.TrimSpace(*patch.Name), append(changed, "name")
			}
			if rotating {
				a.ClientSecret, changed = patch.ClientSecret, append(changed, "client_secret")
			}
			if !patch.SigningSecret.IsZero() {
				a.SigningSecret, changed = patch.SigningSecret, append(changed, "signing_secret")
			}
			if patch.BotScopes != nil {
				a.BotScopes, changed = *patch.BotScopes, append(changed, "bot_scopes")
			}
			if patch.UserScopes != nil {
				a.UserScopes, changed = *patch.UserScopes, append(changed, "user_scopes")
			}
			return nil
		})
		if err != nil {
			return err
		}
		out.App = app
		return audit.Write(ctx, q, p, audit.Event{Action: "app.update", TargetType: "app", TargetID: id,
			Details: map[string]any{"changed": changed, "client_secret_verified": out.Verified}})
	}
	if !rotating {
		return out, s.store.InTx(ctx, change)
	}
	// Prove the new secret by a refresh, retried when another caller
	// refreshes the same token meanwhile (the proof must be this one's).
	for try := 0; try < 3; try++ {
		in, kind, ok, err := s.refreshable(ctx, p.Org.ID, id)
		if err != nil {
			return AppUpdate{}, err
		}
		if !ok {
			if !patch.AllowUnverified {
				return AppUpdate{}, apierror.New(http.StatusConflict, "cannot_verify",
					"no active instance of this app has a rotating token to prove the new client secret with; make sure it is right and send allow_unverified: true, or install an instance first")
			}
			out.Verified = "not verified"
			return out, s.store.InTx(ctx, change)
		}
		out.Verified = fmt.Sprintf("refreshed the %s token of %s", kind, in.ID)
		ran := false
		seen, _, _ := tokenOf(in, kind)
		if _, err := s.refreshOnce(ctx, in.OrgID, in.ID, kind, seen, patch.ClientSecret, func(q store.Queries) error {
			ran = true
			return change(q)
		}); err != nil {
			return AppUpdate{}, err
		}
		if ran {
			return out, nil
		}
	}
	return AppUpdate{}, apierror.New(http.StatusServiceUnavailable, "refresh_pending", "the app's tokens are being refreshed right now; try again")
}

// refreshable finds an active instance of the app with a rotating token,
// and which of its tokens.
func (s *Service) refreshable(ctx context.Context, orgID, appID string) (store.Instance, string, bool, error) {
	after := ""
	for {
		list, next, err := s.store.ListInstances(ctx, orgID, store.InstanceFilter{Status: store.StatusActive}, store.Page{After: after, Limit: store.MaxPage})
		if err != nil {
			return store.Instance{}, "", false, err
		}
		for _, in := range list {
			if in.AppID != appID {
				continue
			}
			switch {
			case !in.BotRefreshToken.IsZero():
				return in, "bot", true, nil
			case !in.UserRefreshToken.IsZero():
				return in, "user", true, nil
			}
		}
		if next == "" {
			return store.Instance{}, "", false, nil
		}
		after = next
	}
}
