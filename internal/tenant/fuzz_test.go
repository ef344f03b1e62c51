package tenant_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// The fuzz test's credentials are fixed, so that its seed corpus
// (testdata/fuzz/FuzzAuthenticate) can hold real headers for the fuzzer to
// mutate. They are test values, live only in the test's own store.
const (
	fuzzAPIToken      = "chub_FuzzApiToken7Qm4f8Zp2LxR7vNc1KbT9wYe3JhS6gDa5"
	fuzzRevokedToken  = "chub_FuzzRevoked7Qm4f8Zp2LxR7vNc1KbT9wYe3JhS6gDa5U"
	fuzzExpiredToken  = "chub_FuzzExpired7Qm4f8Zp2LxR7vNc1KbT9wYe3JhS6gDa5U"
	fuzzInstanceToken = "chi_FuzzInstance7Qm4f8Zp2LxR7vNc1KbT9wYe3JhS6gDa5U"
	fuzzTheirToken    = "chi_FuzzTheirs7Qm4f8Zp2LxR7vNc1KbT9wYe3JhS6gDa5UoI"
	fuzzUserSecret    = "chus_FuzzUser7Qm4f8Zp2LxR7vNc1KbT9wYe3JhS6gDa5UoI0q"
	fuzzOrgSecret     = "chos_FuzzOrg7Qm4f8Zp2LxR7vNc1KbT9wYe3JhS6gDa5UoI0qW"
)

// expected is who a live credential authenticates as.
type expected struct {
	via, user, instance string
}

// fuzzHub makes a store with an organization whose admin has an API token
// (and a revoked and an expired one) and Open Connectors secrets, an
// instance of it, and another organization's instance. It returns who each
// live credential is, by the canonical form of its header.
func fuzzHub(t testing.TB) (*tenant.Authenticator, map[string]expected) {
	t.Helper()
	s, _ := newStore(t)
	admin := hubtest.Organization(t, s, "fuzz")
	org, err := s.UpdateOrganization(ctx, admin.Org.ID, func(o *store.Organization) error {
		o.SecretHash, o.Secret = secrets.HashToken(fuzzOrgSecret), secrets.Secret(fuzzOrgSecret)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	user, err := s.UpdateUser(ctx, org.ID, admin.User.ID, func(u *store.User) error {
		u.SecretHash, u.Secret = secrets.HashToken(fuzzUserSecret), secrets.Secret(fuzzUserSecret)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.APICredential{
		{Name: "live", TokenHash: secrets.HashToken(fuzzAPIToken)},
		{Name: "revoked", TokenHash: secrets.HashToken(fuzzRevokedToken), RevokedAt: time.Now()},
		{Name: "expired", TokenHash: secrets.HashToken(fuzzExpiredToken), ExpiresAt: time.Now().Add(-time.Hour)},
	} {
		c.OrgID, c.UserID = org.ID, user.ID
		if _, err := s.CreateAPICredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ours, err := s.CreateInstance(ctx, store.Instance{OrgID: org.ID, Connector: "slack", Name: "ours", InstanceTokenHash: secrets.HashToken(fuzzInstanceToken)})
	if err != nil {
		t.Fatal(err)
	}
	other := hubtest.Organization(t, s, "other")
	theirs, err := s.CreateInstance(ctx, store.Instance{OrgID: other.Org.ID, Connector: "slack", Name: "theirs", InstanceTokenHash: secrets.HashToken(fuzzTheirToken)})
	if err != nil {
		t.Fatal(err)
	}
	oc := "User " + fuzzUserSecret + ", Organization " + fuzzOrgSecret
	live := map[string]expected{
		canonical("Bearer " + fuzzAPIToken):              {"api_token", user.ID, ""},
		canonical("Bearer " + fuzzInstanceToken):         {"instance_token", "", ours.ID},
		canonical("Bearer " + fuzzTheirToken):            {"instance_token", "", theirs.ID},
		canonical(oc):                                    {"open_connectors", user.ID, ""},
		canonical(oc + ", Element " + fuzzInstanceToken): {"open_connectors", user.ID, ours.ID},
	}
	return &tenant.Authenticator{Store: s}, live
}

// canonical is a header with what the package doc lets vary taken out: the
// whitespace around words, the case of the scheme and part names, the order
// of the Open Connectors parts. Parts are separated by commas, each a name
// and a value; "" when the header is not of that shape.
func canonical(header string) string {
	var parts []string
	for _, part := range strings.Split(header, ",") {
		words := strings.Fields(part)
		if len(words) != 2 {
			return ""
		}
		parts = append(parts, strings.ToLower(words[0])+" "+words[1])
	}
	slices.Sort(parts)
	return strings.Join(parts, "\n")
}

// FuzzAuthenticate feeds Authorization headers to a real Authenticator over
// SQLite. Whatever the header: no panic; success only for a header that is,
// but for what the doc lets vary, a live credential's, and as whom that
// credential is; a refusal is an *AuthError whose message holds no part of
// the header long enough to be a secret.
func FuzzAuthenticate(f *testing.F) {
	auth, live := fuzzHub(f)
	oc := "User " + fuzzUserSecret + ", Organization " + fuzzOrgSecret
	// These must authenticate: the valid forms and the variations the doc
	// allows. The seed corpus holds them, and many near misses.
	mustPass := []string{
		"Bearer " + fuzzAPIToken, "bearer " + fuzzAPIToken, "BEARER  " + fuzzAPIToken + " ", " Bearer \t" + fuzzAPIToken,
		"Bearer " + fuzzInstanceToken, "Bearer " + fuzzTheirToken,
		oc, "organization " + fuzzOrgSecret + " ,  USER " + fuzzUserSecret,
		oc + ", Element " + fuzzInstanceToken, "Element " + fuzzInstanceToken + ",Organization " + fuzzOrgSecret + ",User " + fuzzUserSecret,
	}
	for _, h := range mustPass {
		f.Add(h)
	}
	secretsOf := []string{fuzzAPIToken, fuzzRevokedToken, fuzzExpiredToken, fuzzInstanceToken, fuzzTheirToken, fuzzUserSecret, fuzzOrgSecret}

	f.Fuzz(func(t *testing.T, header string) {
		p, err := auth.Authenticate(ctx, header)
		if err == nil {
			want, ok := live[canonical(header)]
			if !ok {
				t.Fatalf("authenticated %q, which is not a live credential's header", header)
			}
			got := expected{p.Via, p.User.ID, ""}
			if p.Instance != nil {
				got.instance = p.Instance.ID
			}
			if got != want {
				t.Fatalf("%q authenticated as %+v, want %+v", header, got, want)
			}
			return
		}
		if slices.Contains(mustPass, header) {
			t.Fatalf("%q: %v, want it authenticated", header, err)
		}
		var ae *tenant.AuthError
		if !errors.As(err, &ae) {
			t.Fatalf("%q: %v, want an *AuthError", header, err)
		}
		for _, s := range secretsOf {
			if strings.Contains(ae.Message, s) || strings.Contains(err.Error(), s) {
				t.Fatalf("%q: the error %q holds a credential", header, ae.Message)
			}
		}
		// Words of 20 characters or more: the length of a token's secret
		// part, and longer than any word of the messages.
		for _, w := range strings.FieldsFunc(header, func(r rune) bool { return r == ' ' || r == ',' }) {
			if len(w) >= 20 && strings.Contains(ae.Message, w) {
				t.Fatalf("%q: the error %q echoes %q", header, ae.Message, w)
			}
		}
	})
}
