package browsertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/tenant"
)

// Hub is a hub that `connhub serve --sandbox` runs for one test.
type Hub struct {
	URL      string // the hub, e.g. http://127.0.0.1:41234
	SlackURL string // its sandbox
	Token    string // the admin's API token (chub_…)
	logs     *servetest.Buffer
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
	served := servetest.Start(t, []string{"--sandbox", "--data-dir", t.TempDir()}, map[string]string{"CONNHUB_ADMIN_TOKEN": token})
	return &Hub{Token: token, URL: served.URL, SlackURL: served.SlackURL, logs: served.Logs}
}

// Logs returns what the hub has logged so far.
func (h *Hub) Logs() string { return h.logs.String() }

// Do calls the hub's API with the bearer token and decodes a JSON answer
// into out (when not nil); any status but want fails the test.
func (h *Hub) Do(t *testing.T, method, path, bearer string, body, out any, want int) {
	t.Helper()
	call(t, method, h.URL+path, bearer, body, out, want)
}

// DoSandbox calls the sandbox's controls (/_sandbox/…) as Do calls the hub.
func (h *Hub) DoSandbox(t *testing.T, method, path string, body, out any, want int) {
	t.Helper()
	call(t, method, h.SlackURL+path, "", body, out, want)
}

func call(t *testing.T, method, target, bearer string, body, out any, want int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: got %d, want %d: %s", method, target, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, target, err, b)
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
