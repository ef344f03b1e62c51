package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
)

// The client commands are tested against the real thing: a Slack sandbox
// over HTTP, and the hub that `connhub serve` runs in-process, pointed at
// it. Commands run through cli.ExecuteEnv with an environment of their own.

// testHub is a hub served by `connhub serve` against a sandbox of its own.
type testHub struct {
	sandbox *slacksim.Server
	sbURL   string
	info    slacksim.Info
	url     string // the hub's URL
	token   string // the admin's API token, as the first start printed it
	dataDir string
	logs    *servetest.Buffer // the hub's stderr
	served  *servetest.Hub
}

// startHub runs a sandbox and a hub for one test; both stop when it ends.
// serveArgs are more arguments of `connhub serve`.
func startHub(t *testing.T, cfg slacksim.Config, serveArgs ...string) *testHub {
	t.Helper()
	if cfg.Users == 0 {
		cfg.Users = 30
	}
	cfg.TokenRotation = true
	sb, err := slacksim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(ts.Close)
	h := &testHub{sandbox: sb, sbURL: ts.URL, info: sb.Info(ts.URL), dataDir: t.TempDir()}
	served := servetest.Start(t, append([]string{"--data-dir", h.dataDir, "--slack-url", ts.URL}, serveArgs...), map[string]string{
		"CONNHUB_SLACK_CLIENT_ID":      h.info.ClientID,
		"CONNHUB_SLACK_CLIENT_SECRET":  h.info.ClientSecret,
		"CONNHUB_SLACK_SIGNING_SECRET": h.info.SigningSecret,
	})
	h.url, h.token, h.logs, h.served = served.URL, served.APIToken, served.Logs, served
	if h.token == "" {
		t.Fatal("connhub serve's first start printed no API token")
	}
	return h
}

// env is the environment a client command runs with: the hub and the admin's
// token, plus extra (where "" removes a variable).
func (h *testHub) env(extra map[string]string) map[string]string {
	env := map[string]string{"CONNHUB_SERVER": h.url, "CONNHUB_TOKEN": h.token}
	for k, v := range extra {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	return env
}

// cli runs a command as the admin and returns its exit status and output.
func (h *testHub) cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLI(t, h.env(nil), args...)
}

// cliOK runs a command that must succeed and returns what it printed.
func (h *testHub) cliOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := h.cli(t, args...)
	if code != 0 {
		t.Fatalf("connhub %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// cliJSON runs a command with --output json and decodes what it printed.
func cliJSON[T any](t *testing.T, h *testHub, args ...string) T {
	t.Helper()
	out := h.cliOK(t, append(args, "--output", "json")...)
	var v T
	if err := decodeStrict(out, &v); err != nil {
		t.Fatalf("connhub %s --output json printed what is not a %T: %v\n%s", strings.Join(args, " "), v, err, out)
	}
	return v
}

// decodeStrict decodes one JSON value that must fit v exactly.
func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// background is a command running in a goroutine.
type background struct {
	stdout, stderr *syncBuffer
	done           chan int
	args           []string
	interrupt      context.CancelFunc // as Ctrl-C does
}

func start(t *testing.T, env map[string]string, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan int, 1), args: args, interrupt: cancel}
	go func() {
		b.done <- cli.ExecuteEnv(ctx, args, b.stdout, b.stderr, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		<-b.done
	})
	return b
}

// wait waits for the command to end and returns its exit status.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-b.done:
		b.done <- code // for the cleanup
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("connhub %s did not end within 60s; printed %q and %q", strings.Join(b.args, " "), b.stdout, b.stderr)
	}
	return 0
}

// waitFor polls w until re matches what was written to it, and returns the
// first submatch (or the match).
func waitFor(t *testing.T, w *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(w.String()); m != nil {
			return m[len(m)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing matching %s was printed within 30s; got:\n%s", re, w)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that a command writes to while a test reads.
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

// runCLI runs connhub with an environment of its own (nothing from the
// real one) and returns the exit status and what it printed.
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = cli.ExecuteEnv(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

var (
	authorizeLine = regexp.MustCompile(`(?m)^  (http://\S+/oauth/v2/authorize\?\S+)$`)
	createdLine   = regexp.MustCompile(`created instance (ins_\w+)`)
	instanceToken = regexp.MustCompile(`Instance token: +(chi_\S+)`)
	slackToken    = regexp.MustCompile(`xox[a-z][-.][0-9a-zA-Z]`)
)

// consent does at the sandbox what a person does in a browser: open the
// authorize URL, answer the consent form (action allow or cancel, plus
// extra fields), and follow the redirect wherever it leads. It returns the
// last answer's status and body.
func consent(t *testing.T, authorizeURL, action string, extra url.Values) (int, string) {
	t.Helper()
	browser := &http.Client{Timeout: 30 * time.Second}
	resp, err := browser.Get(sandboxtest.Consent(t, authorizeURL, action, extra).String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// allow consents and wants connhub's callback page to say it is connected.
func allow(t *testing.T, authorizeURL string) {
	t.Helper()
	status, body := consent(t, authorizeURL, "allow", nil)
	if status != http.StatusOK || !strings.Contains(body, "is connected") {
		t.Fatalf("after consent the callback answered HTTP %d:\n%s", status, body)
	}
}

// sandboxStats reads GET /_sandbox/stats.
func (h *testHub) sandboxStats(t *testing.T) slacksim.Stats {
	t.Helper()
	resp, err := http.Get(h.sbURL + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st slacksim.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// issue gets a token from the sandbox without the browser.
func (h *testHub) issue(t *testing.T, req slacksim.TokenRequest) slacksim.IssuedToken {
	t.Helper()
	tok, err := h.sandbox.IssueToken(req)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// createFromToken makes an active instance from a sandbox bot token and
// returns its ID.
func (h *testHub) createFromToken(t *testing.T, name string, extra ...string) string {
	t.Helper()
	tok := h.issue(t, slacksim.TokenRequest{Scopes: []string{"users:read", "team:read"}, Rotation: new(false)})
	args := append([]string{"instances", "create", "--name", name, "--token-from-env"}, extra...)
	code, out, errOut := runCLI(t, h.env(map[string]string{"CONNHUB_SLACK_TOKEN": tok.AccessToken}), args...)
	m := createdLine.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("instances create --token-from-env: exit %d, printed %q, %q", code, out, errOut)
	}
	return m[1]
}

func regexpOf(s string) *regexp.Regexp { return regexp.MustCompile(s) }
