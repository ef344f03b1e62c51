package console

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
	"github.com/connhub/connhub/internal/tenant"
)

// openStore opens a migrated SQLite store in a fresh directory, and makes
// an organization with a user and an API token to sign in as.
func openStore(t *testing.T) (store.Store, string, tenant.Principal) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "connhub.db")
	st, err := sqlite.Open(ctx, path, storetest.Keys(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	o, err := st.CreateOrganization(ctx, store.Organization{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, store.User{OrgID: o.ID, Email: "a@acme.example", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.CreateAPICredential(ctx, store.APICredential{OrgID: o.ID, UserID: u.ID, Name: "t", TokenHash: secrets.HashToken("chub_x"), Hint: "chub_"})
	if err != nil {
		t.Fatal(err)
	}
	return st, path, tenant.Principal{Org: o, User: u, Credential: &c}
}

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _, p := openStore(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newSessions(st, time.Hour, func() time.Time { return now })
	id, sess, err := s.create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 43 || len(sess.csrf) != 43 || sess.csrf == id {
		t.Fatalf("got an ID of %d characters and a CSRF token of %d (the same: %v), want two of 43 (256 bits)", len(id), len(sess.csrf), sess.csrf == id)
	}
	got, err := s.get(ctx, id)
	if err != nil || got == nil || got.UserID != p.User.ID || got.CredentialID != p.Credential.ID || got.csrf != sess.csrf {
		t.Fatalf("a new session: got %+v, %v; want it, with the same CSRF token", got, err)
	}
	for _, wrong := range []string{id + "x", ""} {
		if got, err := s.get(ctx, wrong); got != nil || err != nil {
			t.Errorf("the ID %q finds %+v, %v", wrong, got, err)
		}
	}
	now = now.Add(time.Hour - time.Millisecond)
	if got, _ := s.get(ctx, id); got == nil {
		t.Error("a session ends before its TTL")
	}
	now = now.Add(time.Millisecond)
	if got, _ := s.get(ctx, id); got != nil {
		t.Error("a session outlives its TTL")
	}
	// The next sign-in sweeps it away.
	other, _, err := s.create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetConsoleSession(ctx, secrets.HashToken(id), now.Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the expired session is still stored after the next sign-in: %v", err)
	}
	if err := s.end(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.get(ctx, other); got != nil {
		t.Error("an ended session is still found")
	}
}

// TestCSRFTokenIsDerived: a session's CSRF token is a function of its ID
// alone, the same wherever it is computed, and another for another ID.
func TestCSRFTokenIsDerived(t *testing.T) {
	t.Parallel()
	id, other := randomToken(), randomToken()
	if csrfToken(id) != csrfToken(id) || csrfToken(id) == csrfToken(other) || csrfToken(id) == id || len(csrfToken(id)) != 43 {
		t.Errorf("csrfToken: %q, %q for two IDs; want a stable 43-character token per ID, unlike the ID", csrfToken(id), csrfToken(other))
	}
	// HMAC-SHA256 keyed by the ID over the label, base64url: what the
	// docs say, computed here without the function.
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte("connhub console CSRF token v1"))
	if want := base64.RawURLEncoding.EncodeToString(m.Sum(nil)); csrfToken(id) != want {
		t.Errorf("csrfToken: got %q, want %q", csrfToken(id), want)
	}
}

// TestSessionIDNotInTheDatabase reads the database file and its WAL byte
// for byte after a sign-in with a flash waiting: neither the session ID
// nor its CSRF token is there, its hash is.
func TestSessionIDNotInTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, path, p := openStore(t)
	s := newSessions(st, time.Hour, time.Now)
	id, sess, err := s.create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.setFlash(ctx, sess, true, "Saved."); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, secrets.HashToken(id)) {
		t.Fatalf("the session's hash is not in %v either: is the scan reading the right files?", files)
	}
	for what, v := range map[string]string{"session ID": id, "CSRF token": sess.csrf} {
		raw, _ := base64.RawURLEncoding.DecodeString(v)
		if bytes.Contains(all, []byte(v)) || bytes.Contains(all, raw) {
			t.Errorf("the %s is in the database files", what)
		}
	}
}

func TestSameToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		got, want string
		same      bool
	}{{"abc", "abc", true}, {"abc", "abd", false}, {"", "", false}, {"abc", "", false}, {"ab", "abc", false}} {
		if got := sameToken(tc.got, tc.want); got != tc.same {
			t.Errorf("sameToken(%q, %q): got %v, want %v", tc.got, tc.want, got, tc.same)
		}
	}
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/instances": "/instances", "/instances?x=1": "/instances?x=1", "": "/", "//evil.example/": "/",
		"https://evil.example/": "/", "/\\evil.example": "/", "instances": "/"} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q): got %q, want %q", in, got, want)
		}
	}
}
