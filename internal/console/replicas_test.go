package console_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/postgres"
	"github.com/connhub/connhub/internal/store/sqlite"
)

// Replicas: two Consoles over one database are two replicas behind a load
// balancer that does not pin browsers. Their servers listen on two ports of
// 127.0.0.1, and a cookie jar keys cookies by host, not port, so one
// browser's cookie goes to both, as it would to one name behind the
// balancer.

// backends are the databases the replica tests run on: SQLite always,
// PostgreSQL where CONNHUB_TEST_POSTGRES names a server.
var backends = []struct {
	name     string
	postgres bool
}{{"sqlite", false}, {"postgres", true}}

// replica starts another console over st: the same hub, as a second
// replica (st is the hub's store) or a restarted one (st opened anew).
func (e *env) replica(t *testing.T, st store.Store) *env {
	t.Helper()
	r := &env{hub: e.hub, token: e.token}
	r.serve(t, st, false, nil)
	return r
}

// reopen opens the hub's database anew, as a restarted connhub does.
func (e *env) reopen(t *testing.T) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if e.hub.Store.Backend() == "postgres" {
		st, err = postgres.Open(ctx, e.hub.DSN, e.hub.Keys)
	} else {
		st, err = sqlite.Open(ctx, e.hub.DSN, e.hub.Keys)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// at is the same browser (its cookies) talking to another replica.
func (b *browser) at(r *env) *browser { return &browser{t: b.t, e: r, c: b.c} }

// sessionID is the browser's session cookie.
func (b *browser) sessionID() string {
	b.t.Helper()
	u, _ := url.Parse(b.e.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "connhub_session" {
			return c.Value
		}
	}
	b.t.Fatal("the browser has no session cookie")
	return ""
}

// stored says whether the store holds the session with the ID.
func (e *env) stored(t *testing.T, id string) bool {
	t.Helper()
	_, err := e.hub.Store.GetConsoleSession(ctx, secrets.HashToken(id), time.Now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestSessionAcrossReplicas: a session opened on one replica is carried on
// by the other, with its CSRF token; a flash left on one is shown once, on
// the other; signing out on one ends it on both.
func TestSessionAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			one := setupWith(t, hubtest.Options{NoInstall: true, Postgres: be.postgres}, false)
			two := one.replica(t, one.hub.Store)
			b1 := one.browser(t)
			csrf := b1.signin(one.token)
			b2 := b1.at(two)

			got := b2.get("/instances")
			wantStatus(t, got, http.StatusOK)
			wantIn(t, got, "admin@acme.example", `id="signout"`)
			if c := b2.csrf(got); c != csrf {
				t.Errorf("the other replica's CSRF token: got %q, want the session's %q", c, csrf)
			}

			// A POST on replica two with the token replica one gave; its
			// flash shown by replica one, once.
			spare, err := one.hub.Store.CreateAPICredential(ctx, store.APICredential{OrgID: one.hub.Admin.Org.ID, UserID: one.hub.Admin.User.ID,
				Name: "spare", TokenHash: secrets.HashToken("chub_spare_" + store.NewID("x")), Hint: "chub_"})
			if err != nil {
				t.Fatal(err)
			}
			got = b2.post("/settings/tokens/"+spare.ID+"/revoke", url.Values{"csrf": {csrf}})
			if got.status != http.StatusSeeOther || got.location != "/settings" {
				t.Fatalf("revoke on replica two: got %d to %q: %.300s", got.status, got.location, got.body)
			}
			wantIn(t, b1.get("/settings"), `id="flash"`, "The token is revoked")
			wantNotIn(t, b2.get("/settings"), "The token is revoked")

			// Sign-out on replica one ends the session on replica two.
			id := b1.sessionID()
			got = b1.post("/signout", url.Values{"csrf": {csrf}})
			wantStatus(t, got, http.StatusSeeOther)
			if one.stored(t, id) {
				t.Error("the session is still stored after sign-out")
			}
			// The browser would drop its cookie; one that kept it (a copy)
			// is refused all the same.
			kept := two.browser(t)
			u, _ := url.Parse(two.url)
			kept.c.Jar.SetCookies(u, []*http.Cookie{{Name: "connhub_session", Value: id, Path: "/"}})
			got = kept.get("/instances")
			if got.status != http.StatusSeeOther || !strings.Contains(got.location, "session_ended") {
				t.Errorf("replica two after sign-out on replica one: got %d to %q, want a redirect to sign in", got.status, got.location)
			}
			if logs := one.hub.Logs.String(); strings.Contains(logs, id) || strings.Contains(logs, csrf) {
				t.Error("the session ID or its CSRF token is in the logs")
			}
		})
	}
}

// TestSessionSurvivesRestart: a new Console, on the database opened anew,
// carries on the session the stopped one opened.
func TestSessionSurvivesRestart(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			before := setupWith(t, hubtest.Options{NoInstall: true, Postgres: be.postgres}, false)
			b := before.browser(t)
			csrf := b.signin(before.token)
			before.stop()

			after := before.replica(t, before.reopen(t))
			got := b.at(after).get("/instances")
			wantStatus(t, got, http.StatusOK)
			wantIn(t, got, "admin@acme.example")
			if c := b.at(after).csrf(got); c != csrf {
				t.Errorf("after the restart the CSRF token is %q, want %q", c, csrf)
			}
		})
	}
}

// TestRevokedTokenEndsSessionOnEveryReplica: a session opened on replica
// one revokes, through replica two, the token it signed in with; replica
// one ends the session at its next request, and deletes it.
func TestRevokedTokenEndsSessionOnEveryReplica(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			one := setupWith(t, hubtest.Options{NoInstall: true, Postgres: be.postgres}, false)
			two := one.replica(t, one.hub.Store)
			b := one.browser(t)
			csrf := b.signin(one.token)
			id := b.sessionID()
			if !one.stored(t, id) {
				t.Fatal("the session is not in the store")
			}
			cred, err := one.hub.Store.APICredentialByTokenHash(ctx, secrets.HashToken(one.token))
			if err != nil {
				t.Fatal(err)
			}
			got := b.at(two).post("/settings/tokens/"+cred.ID+"/revoke", url.Values{"csrf": {csrf}})
			if got.status != http.StatusSeeOther || got.location != "/settings" {
				t.Fatalf("revoke on replica two: got %d to %q: %.300s", got.status, got.location, got.body)
			}

			got = b.get("/instances")
			if got.status != http.StatusSeeOther || !strings.Contains(got.location, "revoked_credentials") {
				t.Fatalf("replica one with a revoked token: got %d to %q, want a redirect to sign in saying why", got.status, got.location)
			}
			if one.stored(t, id) {
				t.Error("the session of a revoked token is still stored after it was refused")
			}
		})
	}
}

// TestSigninAgainReplacesSession: signing in again gives a new session ID
// and deletes the old session.
func TestSigninAgainReplacesSession(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser(t)
	b.signin(e.token)
	old := b.sessionID()
	if !e.stored(t, old) {
		t.Fatal("the session is not in the store")
	}
	b.signin(e.token)
	if now := b.sessionID(); now == old || !e.stored(t, now) || e.stored(t, old) {
		t.Errorf("after signing in again: new ID %v, new one stored %v, old one stored %v; want a new stored session and the old gone",
			now != old, e.stored(t, now), e.stored(t, old))
	}
}
