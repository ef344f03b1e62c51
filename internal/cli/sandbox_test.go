package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
)

// TestSandboxCommand runs `connhub sandbox` in-process as a newcomer would: the
// first line of stdout is the start JSON, the sandbox answers over HTTP, and a
// burst of users.list meets a 429 after Slack's Tier 2 budget.
func TestSandboxCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Execute(ctx, []string{"sandbox", "--addr", "127.0.0.1:0", "--users", "2000", "--rate-window", "1s"}, outW, &stderr)
		outW.Close()
	}()
	lines := bufio.NewReader(outR)
	first, err := lines.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the start line: %v (stderr: %s)", err, stderr.String())
	}
	var info map[string]string
	if err := json.Unmarshal([]byte(first), &info); err != nil {
		t.Fatalf("start line is not one JSON object of strings: %v: %q", err, first)
	}
	for key, suffix := range map[string]string{"api_url": "/api/", "authorize_url": "/oauth/v2/authorize", "scim_url": "/scim/v2/", "control_url": "/_sandbox/"} {
		if !strings.HasPrefix(info[key], "http://127.0.0.1:") || !strings.HasSuffix(info[key], suffix) {
			t.Errorf("start line %s = %q, want http://127.0.0.1:<port>…%s", key, info[key], suffix)
		}
	}
	for _, key := range []string{"client_id", "client_secret", "signing_secret", "team_id"} {
		if info[key] == "" {
			t.Errorf("start line has no %s: %q", key, first)
		}
	}

	resp, err := http.Post(info["control_url"]+"tokens", "application/json", strings.NewReader(`{"scopes":["users:read"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	ok := 0
	for i := 0; i < 25; i++ {
		resp, err := http.PostForm(info["api_url"]+"users.list", url.Values{"token": {tok.AccessToken}, "limit": {"20"}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			if resp.Header.Get("Retry-After") != "1" {
				t.Errorf("got Retry-After %q, want 1", resp.Header.Get("Retry-After"))
			}
			break
		}
		ok++
	}
	// The window is one second of wall time here, so a slow machine may see a
	// few more calls pass; it must never see fewer than the budget.
	if ok < 20 || ok == 25 {
		t.Errorf("%d users.list calls passed before a 429, want Tier 2's 20 (a few more if the window rolled)", ok)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("sandbox exited %d after cancel, want 0 (stderr: %s)", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop after cancel")
	}
	rest, _ := io.ReadAll(lines)
	if len(rest) != 0 {
		t.Errorf("stdout has more than the start line: %q", rest)
	}
	if !strings.Contains(stderr.String(), "sandbox: ready") {
		t.Errorf("stderr has no ready log: %s", stderr.String())
	}
}

func TestBadCommandLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args     []string
		code     int
		mentions string
	}{
		{[]string{"sandbox", "--edition", "gold"}, 2, "edition must be one of"},
		{[]string{"sandbox", "--users", "many"}, 2, `invalid argument "many"`},
		{[]string{"sandbox", "--users", "0"}, 2, "--users must be positive"},
		{[]string{"sandbox", "--rate-window", "-1s"}, 2, "--rate-window must be positive"},
		{[]string{"sandbox", "--redirect-url", "not a url"}, 2, "redirect URL"},
		{[]string{"sandbox", "--reset"}, 2, "--reset needs --state-file"},
		{[]string{"sandbox", "extra"}, 2, "takes no arguments"},
		{[]string{"sandbox", "--nope"}, 2, "unknown flag"},
		{[]string{"teleport"}, 2, "unknown command"},
		{[]string{"sandbox", "--addr", "256.1.1.1:99999"}, 1, "listen"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := cli.Execute(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("got exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "connhub: ") || !strings.Contains(msg, tc.mentions) {
				t.Errorf("got stderr %q, want one line starting connhub: and mentioning %q", msg, tc.mentions)
			}
			if stdout.Len() != 0 {
				t.Errorf("got stdout %q, want nothing", stdout.String())
			}
		})
	}
}
