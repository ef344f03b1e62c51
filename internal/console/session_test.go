package console

import (
	"testing"
	"time"

	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newSessions(time.Hour, func() time.Time { return now })
	p := tenant.Principal{Org: store.Organization{ID: "org_1"}, User: store.User{ID: "usr_1"}, Credential: &store.APICredential{ID: "key_1"}}
	id, sess := s.create(p)
	if len(id) != 43 || len(sess.csrf) != 43 {
		t.Fatalf("got an ID of %d characters and a CSRF token of %d, want 43 (256 bits)", len(id), len(sess.csrf))
	}
	if got := s.get(id); got != sess {
		t.Fatal("a new session is not found")
	}
	if s.get(id+"x") != nil || s.get("") != nil {
		t.Error("a wrong ID finds a session")
	}
	now = now.Add(time.Hour)
	if s.get(id) != nil {
		t.Error("a session outlives its TTL")
	}
	other, _ := s.create(p)
	s.end(other)
	if s.get(other) != nil {
		t.Error("an ended session is still found")
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
