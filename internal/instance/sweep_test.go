package instance_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/postgres"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
)

// stateID is the ID of the OAuth state an authorize URL carries.
func stateID(t *testing.T, authorizeURL string) string {
	t.Helper()
	u, err := url.Parse(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	id, _, _ := strings.Cut(u.Query().Get("state"), ".")
	return id
}

// TestTheSweeperExpiresInstallsWhoseLinkExpired runs the sweeper as serve does,
// ticked by hand, on SQLite and on PostgreSQL, with the hub's clock moved
// past the links' expiry: the pending install whose every link expired is
// failed and its state deleted; a live one, an active one are left alone;
// the failed one re-authenticates to active.
func TestTheSweeperExpiresInstallsWhoseLinkExpired(t *testing.T) {
	t.Parallel()
	for _, backend := range []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "connhub.db"), storetest.Keys(t, 1))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"postgres", func(t *testing.T) store.Store {
			s, err := postgres.Open(ctx, storetest.PostgresDatabase(t), storetest.Keys(t, 1))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			e := setupOn(t, slacksim.Config{}, backend.open(t))
			stranded, err := e.svc.Create(ctx, e.admin, instance.CreateInput{Name: "stranded"})
			if err != nil {
				t.Fatal(err)
			}
			active := e.install(t, instance.CreateInput{Name: "active"}, nil)

			// The sweeper, ticked by hand: a tick is taken only once the
			// sweep before it has finished, so the second of two ticks
			// returns after a whole sweep.
			ticks := make(chan time.Time)
			sweepCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { e.svc.RunSweeper(sweepCtx, ticks); close(done) }()
			t.Cleanup(func() { stop(); <-done })
			sweep := func() { ticks <- time.Time{}; ticks <- time.Time{} }
			status := func(id string) store.Instance {
				t.Helper()
				in, err := e.store.GetInstance(ctx, e.admin.Org.ID, id)
				if err != nil {
					t.Fatal(err)
				}
				return in
			}

			sweep()
			if got := status(stranded.Instance.ID); got.Status != store.StatusPending {
				t.Fatalf("before its link expired the install is %s, want pending", got.Status)
			}
			e.offset.Add(int64(instance.StateTTL + instance.SweepGrace + time.Second))
			live, err := e.svc.Create(ctx, e.admin, instance.CreateInput{Name: "live"}) // its link is new
			if err != nil {
				t.Fatal(err)
			}
			sweep()

			got := status(stranded.Instance.ID)
			if got.Status != store.StatusExpired || got.StatusReason != instance.ExpiredReason ||
				!strings.Contains(got.StatusReason, "before the authorize URL expired; re-authenticate for a new one") {
				t.Errorf("after its link expired the install is %s (%q), want expired with %q", got.Status, got.StatusReason, instance.ExpiredReason)
			}
			if _, err := e.svc.Ping(ctx, e.admin, stranded.Instance.ID); err == nil || !strings.Contains(err.Error(), "re-authenticate for a new one") {
				t.Errorf("a ping of the expired install: %v, want it refused, saying to re-authenticate", err)
			}
			if got := status(live.Instance.ID); got.Status != store.StatusPending {
				t.Errorf("an install with a live link is %s, want pending", got.Status)
			}
			if got := status(active.ID); got.Status != store.StatusActive {
				t.Errorf("an active instance is %s after the sweep", got.Status)
			}
			if _, err := e.store.ConsumeOAuthState(ctx, stateID(t, stranded.AuthorizeURL), e.now()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the expired state after the sweep: %v, want it deleted", err)
			}

			// failed → active through a re-authentication, as the doc says.
			r, err := e.svc.Reauthenticate(ctx, e.admin, stranded.Instance.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			sweep() // the new link is live: the failed instance is not touched
			loc := sandboxtest.Consent(t, r.AuthorizeURL, "allow", nil)
			res, err := e.svc.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")})
			if err != nil || !res.OK || res.Instance.Status != store.StatusActive || res.Instance.StatusReason != "" {
				t.Errorf("re-authenticated after the sweep: %s %v; want active", answer(res), err)
			}
		})
	}
}
