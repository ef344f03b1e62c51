package tenant_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
	"github.com/connhub/connhub/internal/tenant"
)

var ctx = context.Background()

func newStore(t testing.TB) (store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "connhub.db"), storetest.Keys(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s, dir
}

var printed = regexp.MustCompile(`API token: +(chub_\S+)|User (chus_\S+), Organization (chos_\S+)`)

// firstStart bootstraps an empty store and returns the printed credentials.
func firstStart(t *testing.T, s store.Store, dir string) (token, userSecret, orgSecret string, res tenant.BootstrapResult) {
	t.Helper()
	var out bytes.Buffer
	res, err := tenant.Bootstrap(ctx, s, "", dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range printed.FindAllStringSubmatch(out.String(), -1) {
		if m[1] != "" {
			token = m[1]
		} else {
			userSecret, orgSecret = m[2], m[3]
		}
	}
	if token == "" || userSecret == "" || orgSecret == "" {
		t.Fatalf("first start printed %q; want the API token and the Open Connectors secrets", out.String())
	}
	return token, userSecret, orgSecret, res
}

func TestFirstStart(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	token, userSecret, orgSecret, res := firstStart(t, s, dir)
	if !res.Created || res.Admin.Role != store.RoleAdmin {
		t.Fatalf("got %+v, want a created organization with an admin", res)
	}
	info, err := os.Stat(res.File)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %o, want 600", info.Mode().Perm())
	}
	body, _ := os.ReadFile(res.File)
	for _, secret := range []string{token, userSecret, orgSecret} {
		if !strings.Contains(string(body), secret) {
			t.Errorf("the credentials file lacks %s…", secret[:5])
		}
	}
	// The second start creates nothing and prints nothing.
	var out bytes.Buffer
	again, err := tenant.Bootstrap(ctx, s, "", dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || out.Len() != 0 || again.Org.ID != res.Org.ID {
		t.Errorf("second start: %+v, printed %q; want nothing new", again, out.String())
	}

	auth := &tenant.Authenticator{Store: s}
	p, err := auth.Authenticate(ctx, "Bearer "+token)
	if err != nil || p.Org.ID != res.Org.ID || p.User.ID != res.Admin.ID || !p.IsAdmin() || p.Via != "api_token" {
		t.Errorf("the printed API token: got %+v, %v", p, err)
	}
	p, err = auth.Authenticate(ctx, "User "+userSecret+", Organization "+orgSecret)
	if err != nil || p.User.ID != res.Admin.ID || p.Via != "open_connectors" {
		t.Errorf("the printed Open Connectors secrets: got %+v, %v", p, err)
	}
}

func TestAdminTokenFromTheEnvironment(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	first, err := secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := tenant.Bootstrap(ctx, s, secrets.Secret(first), dir, &out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), first) {
		t.Error("the token from CONNHUB_ADMIN_TOKEN was printed")
	}
	body, _ := os.ReadFile(res.File)
	if strings.Contains(string(body), first) {
		t.Error("the token from CONNHUB_ADMIN_TOKEN was written to the credentials file")
	}
	auth := &tenant.Authenticator{Store: s}
	if _, err := auth.Authenticate(ctx, "Bearer "+first); err != nil {
		t.Fatalf("CONNHUB_ADMIN_TOKEN does not authenticate: %v", err)
	}
	// Changing the variable rotates the admin token.
	second, _ := secrets.NewToken(tenant.APITokenPrefix)
	for range 2 { // twice: the second start with the same value changes nothing
		if _, err := tenant.Bootstrap(ctx, s, secrets.Secret(second), dir, &out); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := auth.Authenticate(ctx, "Bearer "+second); err != nil {
		t.Errorf("the new CONNHUB_ADMIN_TOKEN: %v", err)
	}
	var ae *tenant.AuthError
	if _, err := auth.Authenticate(ctx, "Bearer "+first); !errors.As(err, &ae) || ae.Code != "revoked_credentials" {
		t.Errorf("the old CONNHUB_ADMIN_TOKEN: got %v, want revoked_credentials", err)
	}
	// Going back to the first value brings it back.
	if _, err := tenant.Bootstrap(ctx, s, secrets.Secret(first), dir, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Authenticate(ctx, "Bearer "+first); err != nil {
		t.Errorf("CONNHUB_ADMIN_TOKEN set back: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	token, userSecret, orgSecret, res := firstStart(t, s, dir)
	org := res.Org

	instanceToken, _ := secrets.NewToken(tenant.InstanceTokenPrefix)
	in, err := s.CreateInstance(ctx, store.Instance{OrgID: org.ID, Connector: "slack", Name: "ours", InstanceTokenHash: secrets.HashToken(instanceToken)})
	if err != nil {
		t.Fatal(err)
	}
	// Another organization with its own instance.
	other, err := s.CreateOrganization(ctx, store.Organization{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	theirToken, _ := secrets.NewToken(tenant.InstanceTokenPrefix)
	if _, err := s.CreateInstance(ctx, store.Instance{OrgID: other.ID, Connector: "slack", Name: "theirs", InstanceTokenHash: secrets.HashToken(theirToken)}); err != nil {
		t.Fatal(err)
	}
	expiredToken, _ := secrets.NewToken(tenant.APITokenPrefix)
	if _, err := s.CreateAPICredential(ctx, store.APICredential{OrgID: org.ID, UserID: res.Admin.ID, Name: "old", TokenHash: secrets.HashToken(expiredToken), ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	oc := "User " + userSecret + ", Organization " + orgSecret

	auth := &tenant.Authenticator{Store: s}
	for _, tc := range []struct {
		name, header, code string
		instance           string
	}{
		{"API token", "Bearer " + token, "", ""},
		{"lower-case scheme", "bearer " + token, "", ""},
		{"instance token", "Bearer " + instanceToken, "", in.ID},
		{"Open Connectors", oc, "", ""},
		{"Open Connectors with Element", oc + ", Element " + instanceToken, "", in.ID},
		{"Open Connectors parts in another order", "Organization " + orgSecret + ", Element " + instanceToken + ", User " + userSecret, "", in.ID},
		{"no header", "", "missing_credentials", ""},
		{"Basic", "Basic dXNlcjpwYXNz", "malformed_credentials", ""},
		{"empty Bearer", "Bearer ", "malformed_credentials", ""},
		{"foreign token", "Bearer xoxb-123-456", "malformed_credentials", ""},
		{"unknown API token", "Bearer chub_" + strings.Repeat("x", 43), "invalid_credentials", ""},
		{"expired API token", "Bearer " + expiredToken, "expired_credentials", ""},
		{"unknown instance token", "Bearer chi_nope", "invalid_credentials", ""},
		{"Element of another organization", oc + ", Element " + theirToken, "invalid_credentials", ""},
		{"wrong user secret", "User chus_wrong, Organization " + orgSecret, "invalid_credentials", ""},
		{"wrong organization secret", "User " + userSecret + ", Organization chos_wrong", "invalid_credentials", ""},
		{"Open Connectors without Organization", "User " + userSecret, "malformed_credentials", ""},
		{"Open Connectors with a stray part", oc + ", Tenant x", "malformed_credentials", ""},
		{"Open Connectors with a part twice", oc + ", User " + userSecret, "malformed_credentials", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := auth.Authenticate(ctx, tc.header)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				if p.Org.ID != org.ID {
					t.Errorf("got organization %s, want %s", p.Org.ID, org.ID)
				}
				if got := ""; p.Instance != nil {
					got = p.Instance.ID
					if got != tc.instance {
						t.Errorf("got instance %s, want %s", got, tc.instance)
					}
				} else if tc.instance != "" {
					t.Errorf("got no instance, want %s", tc.instance)
				}
				return
			}
			var ae *tenant.AuthError
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
			for _, secret := range []string{token, userSecret, orgSecret, instanceToken, theirToken} {
				if strings.Contains(ae.Message, secret) {
					t.Errorf("the error message echoes a credential: %q", ae.Message)
				}
			}
		})
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	token, _, _, res := firstStart(t, s, dir)
	auth := &tenant.Authenticator{Store: s}
	h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := tenant.FromContext(r.Context())
		if !ok {
			t.Error("no principal in the context")
		}
		w.Write([]byte(p.Org.ID))
	}))

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/instances", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != res.Org.ID {
		t.Errorf("with the token: got %d %q", rec.Code, rec.Body.String())
	}

	rec = httptest.NewRecorder()
	req = httptest.NewRequest("GET", "/v1/instances", nil)
	req.Header.Set("Authorization", "Bearer chub_wrong")
	h.ServeHTTP(rec, req)
	var body struct{ Code, Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 401 || body.Code != "invalid_credentials" || body.Message == "" {
		t.Errorf("with a wrong token: got %d %s, want 401 JSON with a code and a message", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

func TestHint(t *testing.T) {
	if got := tenant.Hint("chub_abcdefghijklmnop"); got != "chub_abcd…" {
		t.Errorf("Hint: got %q", got)
	}
	if got := tenant.Hint("short"); got != "" {
		t.Errorf("Hint of a short value: got %q, want nothing", got)
	}
}

func TestBootstrapRefusesAWeakAdminToken(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	for _, weak := range []string{"chub_a", "q2kX9vB7mZ1yL4nR8tW3pF6hJ0cD5gS"} {
		_, err := tenant.Bootstrap(ctx, s, secrets.Secret(weak), dir, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tenant.APITokenShape) || strings.Contains(err.Error(), weak) {
			t.Errorf("Bootstrap with %s: got %v, want a refusal that says what a token looks like", weak, err)
		}
	}
	if orgs, _, err := s.ListOrganizations(ctx, store.Page{Limit: 1}); err != nil || len(orgs) != 0 {
		t.Errorf("after the refusals the store has %d organizations (%v), want none", len(orgs), err)
	}
}

// TestAPITokenUseIsOnRecord: an API token's use is in the audit log (the
// API's sign-in) at most once a minute, with its source address; a revoked
// token's try is recorded as refused.
func TestAPITokenUseIsOnRecord(t *testing.T) {
	t.Parallel()
	s, dir := newStore(t)
	token, _, _, res := firstStart(t, s, dir)
	now := time.Now()
	a := &tenant.Authenticator{Store: s, Now: func() time.Time { return now }}
	use := func() {
		t.Helper()
		c := tenant.WithRequest(ctx, tenant.Request{ID: "req-1", SourceIP: "192.0.2.7"})
		if _, err := a.Authenticate(c, "Bearer "+token); err != nil {
			t.Fatal(err)
		}
	}
	events := func(action string) []store.AuditEvent {
		t.Helper()
		list, _, err := s.ListAudit(ctx, res.Org.ID, store.AuditFilter{Action: action}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	use()
	use()
	if got := events("auth.token_use"); len(got) != 1 || got[0].SourceIP != "192.0.2.7" || got[0].ActorID != res.Admin.ID || got[0].RequestID != "req-1" {
		t.Fatalf("token uses in the first minute: %+v; want one, from 192.0.2.7", got)
	}
	now = now.Add(2 * time.Minute)
	use()
	if got := events("auth.token_use"); len(got) != 2 {
		t.Errorf("token uses after two minutes: %d; want 2", len(got))
	}
	creds, _, _ := s.ListAPICredentials(ctx, res.Org.ID, store.Page{})
	for _, c := range creds {
		s.UpdateAPICredential(ctx, res.Org.ID, c.ID, func(c *store.APICredential) error { c.RevokedAt = now; return nil })
	}
	if _, err := a.Authenticate(ctx, "Bearer "+token); err == nil {
		t.Fatal("a revoked token authenticated")
	}
	if got := events("auth.failed"); len(got) != 1 || got[0].Outcome != "denied" || got[0].Details["reason"] != "revoked_credentials" {
		t.Errorf("refused tries: %+v", got)
	}
}
