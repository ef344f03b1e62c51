package cli_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/tenant"
)

// TestServeRefusesAWeakAdminToken: a CONNHUB_ADMIN_TOKEN that is short, or
// lacks the prefix (it could never authenticate), stops serve at start-up
// with one line that says what a valid value looks like and how to make one.
func TestServeRefusesAWeakAdminToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, token, why string }{
		{"short", "chub_a", "has 1 characters after chub_, want at least 22"},
		{"without the prefix", "q2kX9vB7mZ1yL4nR8tW3pF6hJ0cD5gS", "does not start with chub_"},
		{"one character repeated", "chub_" + strings.Repeat("Z", 40), "repeats one character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Should serve start after all, it is stopped once it says so.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &cancelOn{line: "connhub: serving on", cancel: cancel}
			var errOut strings.Builder
			code := cli.ExecuteEnv(ctx, []string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}, out, &errOut,
				func(k string) string { return map[string]string{"CONNHUB_ADMIN_TOKEN": tc.token}[k] })
			if code == 0 || out.seen {
				t.Fatalf("serve with CONNHUB_ADMIN_TOKEN=%s started (exit %d); printed %q", tc.token, code, out.b.String())
			}
			lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("serve printed %d lines to stderr, want one:\n%s", len(lines), errOut.String())
			}
			for _, want := range []string{"CONNHUB_ADMIN_TOKEN", tc.why, tenant.APITokenShape} {
				if !strings.Contains(lines[0], want) {
					t.Errorf("the line %q lacks %q", lines[0], want)
				}
			}
			if len(tc.token) > 20 && strings.Contains(errOut.String(), tc.token[len(tc.token)-20:]) {
				t.Errorf("the line shows the token: %q", errOut.String())
			}
		})
	}
}

// cancelOn collects what is written to it and calls cancel once line
// appears in it.
type cancelOn struct {
	mu     sync.Mutex
	b      strings.Builder
	line   string
	cancel func()
	seen   bool
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b.Write(p)
	if !c.seen && strings.Contains(c.b.String(), c.line) {
		c.seen = true
		c.cancel()
	}
	return len(p), nil
}

func TestServeTakesAGoodAdminToken(t *testing.T) {
	t.Parallel()
	code, token, _ := run(t, nil, "token", "new")
	token = strings.TrimSpace(token)
	if code != 0 || tenant.CheckAPIToken(token) != nil {
		t.Fatalf("token new: exit %d, printed %q", code, token)
	}
	hub := servetest.Start(t, []string{"--data-dir", t.TempDir()}, map[string]string{"CONNHUB_ADMIN_TOKEN": token})
	req, _ := http.NewRequest("GET", hub.URL+"/v1/instances", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/instances with CONNHUB_ADMIN_TOKEN: %d, want 200", resp.StatusCode)
	}
}
