package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/tenant"
)

// Hub is a hub that `connhub serve --sandbox` runs for one test.
type Hub struct {
	URL      string // the hub, e.g. http://127.0.0.1:41234
	SlackURL string // its sandbox
	Token    string // the admin's API token (chub_…)
	logs     *syncBuffer
}

// StartHub runs `connhub serve --sandbox` in the test's process, as a person
// would from a shell: a temporary data directory, a free loopback port (the
// URL is read from what serve prints), CONNHUB_ADMIN_TOKEN for the first
// admin. It stops when the test ends.
func StartHub(t *testing.T) *Hub {
	t.Helper()
	token, err := secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	h := &Hub{Token: token, logs: &syncBuffer{}}
	env := map[string]string{"CONNHUB_ADMIN_TOKEN": token}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := cli.ExecuteEnv(ctx, []string{"serve", "--sandbox", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0"}, pw, h.logs,
			func(k string) string { return env[k] })
		pw.Close()
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("connhub serve did not stop within 30s of its context's end")
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	serving := regexp.MustCompile(`^connhub: serving on (http://\S+)`)
	sandbox := regexp.MustCompile(`^connhub: Slack is the sandbox at (http://\S+)`)
	deadline := time.After(60 * time.Second)
	for h.URL == "" || h.SlackURL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("connhub serve ended before serving: exit %d; logs:\n%s", <-done, h.logs)
			}
			if m := serving.FindStringSubmatch(line); m != nil {
				h.URL = m[1]
			}
			if m := sandbox.FindStringSubmatch(line); m != nil {
				h.SlackURL = m[1]
			}
		case <-deadline:
			t.Fatalf("connhub serve did not say where it serves within 60s; logs:\n%s", h.logs)
		}
	}
	go func() { // nothing more that serve prints matters; keep its pipe flowing
		for range lines {
		}
	}()
	return h
}

// Logs returns what the hub has logged so far.
func (h *Hub) Logs() string { return h.logs.String() }

// Do calls the hub's API with the bearer token and decodes a JSON answer
// into out (when not nil); any status but want fails the test.
func (h *Hub) Do(t *testing.T, method, path, bearer string, body, out any, want int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// Installed is an instance installed into the hub's sandbox.
type Installed struct {
	ID    string
	Name  string
	Token string // its instance token (chi_…)
}

// Install creates a Slack instance as the admin and consents to it on the
// sandbox with a plain HTTP client (Allow), then follows the redirect to the
// hub's OAuth callback, which makes the instance active.
func (h *Hub) Install(t *testing.T, name string) Installed {
	t.Helper()
	var created struct {
		ID            string `json:"id"`
		InstanceToken string `json:"instance_token"`
		AuthorizeURL  string `json:"authorize_url"`
	}
	h.Do(t, http.MethodPost, "/v1/instances", h.Token, map[string]any{"connector": "slack", "name": name}, &created, http.StatusCreated)
	if created.AuthorizeURL == "" || created.InstanceToken == "" {
		t.Fatalf("create instance: no authorize_url or instance_token in %+v", created)
	}
	callback := sandboxtest.Consent(t, created.AuthorizeURL, "allow", nil)
	if !strings.HasPrefix(callback.String(), h.URL+"/") {
		t.Fatalf("the sandbox redirected to %s, want the hub's callback", callback)
	}
	resp, err := httpClient.Get(callback.String())
	if err != nil {
		t.Fatalf("OAuth callback: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OAuth callback: got %d: %.500s", resp.StatusCode, page)
	}
	var got struct {
		Status string `json:"status"`
	}
	h.Do(t, http.MethodGet, "/v1/instances/"+url.PathEscape(created.ID), h.Token, nil, &got, http.StatusOK)
	if got.Status != "active" {
		t.Fatalf("instance %s after consent: status %q, want active", created.ID, got.Status)
	}
	return Installed{ID: created.ID, Name: name, Token: created.InstanceToken}
}

// syncBuffer is a bytes.Buffer safe for the hub's writer and the test's
// reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
