package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/slacksim"
)

// sandboxWorkspace reads GET /_sandbox/workspace.
func sandboxWorkspace(t *testing.T, slackURL string) slacksim.WorkspaceSummary {
	t.Helper()
	resp, err := http.Get(slackURL + "/_sandbox/workspace")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum slacksim.WorkspaceSummary
	if err := json.NewDecoder(resp.Body).Decode(&sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestServeSandboxKeepsItsWord: serve --sandbox started again on its data
// directory serves the same sandbox, on the same port, and an instance
// installed before answers its ping; the hub registers no second app. When
// the port is taken the sandbox serves on another and the hub follows. The
// state file is 0600 and no Slack token reaches the logs.
func TestServeSandboxKeepsItsWord(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	first := servetest.Start(t, []string{"--sandbox", "--data-dir", dataDir, "--sandbox-users", "40"}, nil)
	env := map[string]string{"CONNHUB_SERVER": first.URL, "CONNHUB_TOKEN": first.APIToken}
	code, out, errOut := runCLI(t, env, "instances", "create", "--name", "Kept")
	id, authorize := createdLine.FindStringSubmatch(out), authorizeLine.FindStringSubmatch(out)
	if code != 0 || id == nil || authorize == nil {
		t.Fatalf("instances create: exit %d, %q, %q", code, out, errOut)
	}
	allow(t, authorize[1])
	ping := func(hub *servetest.Hub) {
		t.Helper()
		env["CONNHUB_SERVER"] = hub.URL
		code, out, errOut := runCLI(t, env, "instances", "ping", id[1])
		if code != 0 || !strings.Contains(out, "ok in") {
			t.Fatalf("instances ping: exit %d, %q, %q; logs:\n%s", code, out, errOut, hub.Logs)
		}
	}
	ping(first)
	sandboxEventsReachTheHub(t, first)
	if code := first.Stop(t); code != 0 {
		t.Fatalf("serve exited %d; logs:\n%s", code, first.Logs)
	}
	state := filepath.Join(dataDir, "sandbox-state.json")
	if fi, err := os.Stat(state); err != nil {
		t.Fatalf("serve --sandbox kept no state file: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("the sandbox's state file is %v; want 0600: it holds tokens", fi.Mode().Perm())
	}

	// Started again without --sandbox-users: the kept sandbox keeps its 40.
	second := servetest.Start(t, []string{"--sandbox", "--data-dir", dataDir}, nil)
	if second.SlackURL != first.SlackURL {
		t.Errorf("the sandbox came back at %s; want where it was, %s", second.SlackURL, first.SlackURL)
	}
	ping(second)
	if sum := sandboxWorkspace(t, second.SlackURL); sum.Users["total"] != 40+1+1 { // Slackbot and the app's bot
		t.Errorf("the kept sandbox has %d users; want the 40 asked for at first, Slackbot and the bot", sum.Users["total"])
	}
	if code, out, _ := runCLI(t, env, "apps", "list"); code != 0 || strings.Count(out, "connhub sandbox app") != 1 {
		t.Errorf("apps list after a restart: exit %d, %q; want the sandbox's app once", code, out)
	}
	if code := second.Stop(t); code != 0 {
		t.Fatalf("serve exited %d; logs:\n%s", code, second.Logs)
	}

	// The port taken: another one, and the hub follows.
	taken, err := net.Listen("tcp", strings.TrimPrefix(first.SlackURL, "http://"))
	if err != nil {
		t.Fatalf("taking the sandbox's port: %v", err)
	}
	defer taken.Close()
	third := servetest.Start(t, []string{"--sandbox", "--data-dir", dataDir}, nil)
	if third.SlackURL == first.SlackURL || !strings.Contains(third.Logs.String(), "port it served on before is taken") {
		t.Errorf("with its port taken the sandbox is at %s (was %s); logs:\n%s", third.SlackURL, first.SlackURL, third.Logs)
	}
	ping(third)
	third.Stop(t)

	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	kept := regexp.MustCompile(`xox[a-z.]*-[0-9a-zA-Z-]+`).FindAllString(string(data), -1)
	if len(kept) == 0 {
		t.Fatal("the state file holds no Slack token: the install was not kept")
	}
	logs := first.Logs.String() + second.Logs.String() + third.Logs.String()
	if m := slackToken.FindString(logs); m != "" {
		t.Errorf("a Slack token reached the logs: %s…", m)
	}
	for _, tok := range kept {
		if strings.Contains(logs, tok) {
			t.Errorf("the logs hold a token the state file keeps: %.12s…", tok)
		}
	}
}

// TestServeSandboxFlags: the --sandbox-* flags choose the sandbox's edition,
// users and seed; a kept sandbox is not replaced by a flag that disagrees
// with it, only by --sandbox-reset; bad values are one line each.
func TestServeSandboxFlags(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	grid := servetest.Start(t, []string{"--sandbox", "--data-dir", dataDir, "--sandbox-edition", "enterprise_grid", "--sandbox-users", "30", "--sandbox-seed", "7", "--sandbox-rate-window", "2s"}, nil)
	sum := sandboxWorkspace(t, grid.SlackURL)
	if sum.Edition != "enterprise_grid" || sum.Enterprise == "" || len(sum.Teams) != 3 || sum.Users["total"] != 31 {
		t.Errorf("--sandbox-edition enterprise_grid --sandbox-users 30: got edition %s, org %q, %d workspaces, %d users; want a Grid org of 3 workspaces and 30 users and Slackbot",
			sum.Edition, sum.Enterprise, len(sum.Teams), sum.Users["total"])
	}
	if grid.Stop(t) != 0 {
		t.Fatalf("serve did not stop cleanly; logs:\n%s", grid.Logs)
	}

	serve := func(args ...string) (int, string) {
		var stderr strings.Builder
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		code := cli.ExecuteEnv(ctx, append([]string{"serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0"}, args...), io.Discard, &stderr, func(string) string { return "" })
		return code, stderr.String()
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sandbox", "--sandbox-edition", "free"}, "made with --sandbox-edition enterprise_grid (not free): leave"},
		{[]string{"--sandbox", "--sandbox-seed", "8", "--sandbox-users", "30"}, "--sandbox-seed 7 (not 8)"},
		{[]string{"--sandbox", "--sandbox-edition", "gold"}, "--sandbox-edition must be one of free, pro, business_plus, enterprise_grid"},
		{[]string{"--sandbox", "--sandbox-users", "0"}, "--sandbox-users must be between 1 and"},
		{[]string{"--sandbox", "--sandbox-rate-window", "1ms"}, "--sandbox-rate-window must be at least 10ms"},
		{[]string{"--sandbox-edition", "free"}, "--sandbox-edition needs --sandbox"},
	} {
		code, stderr := serve(tc.args...)
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %s: exit %d, %q; want exit 2 and one line saying %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
		if strings.Contains(tc.want, "not ") && !strings.Contains(stderr, "--sandbox-reset") {
			t.Errorf("serve %s: %q does not say how to start afresh", strings.Join(tc.args, " "), stderr)
		}
	}

	free := servetest.Start(t, []string{"--sandbox", "--data-dir", dataDir, "--sandbox-edition", "free", "--sandbox-reset"}, nil)
	if sum := sandboxWorkspace(t, free.SlackURL); sum.Edition != "free" || sum.Enterprise != "" {
		t.Errorf("--sandbox-edition free --sandbox-reset: got %s %q; want a free workspace", sum.Edition, sum.Enterprise)
	}
	if free.SlackURL != grid.SlackURL {
		t.Errorf("after --sandbox-reset the sandbox is at %s; want where the old one was, %s", free.SlackURL, grid.SlackURL)
	}

	var out strings.Builder
	cli.Execute(context.Background(), []string{"__complete", "serve", "--sandbox-edition", ""}, &out, io.Discard)
	for _, e := range slacksim.Editions {
		if !strings.Contains(out.String(), string(e)+"\n") {
			t.Errorf("completing --sandbox-edition offers %q; want %s among them", out.String(), e)
		}
	}
}

// TestSandboxStateFile: `connhub sandbox --state-file` started again serves
// the same app and tokens, takes the saved world settings when their flags
// are not given, refuses one that disagrees, and its ready line counts the
// channels.
func TestSandboxStateFile(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "sandbox.json")
	run := func(args ...string) (info slacksim.Info, stderr *syncBuffer, stop func() int) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		outR, outW := io.Pipe()
		stderr = &syncBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- cli.Execute(ctx, append([]string{"sandbox", "--addr", "127.0.0.1:0", "--state-file", state}, args...), outW, stderr)
			outW.Close()
		}()
		line, err := bufio.NewReader(outR).ReadString('\n')
		if err != nil || json.Unmarshal([]byte(line), &info) != nil {
			cancel()
			t.Fatalf("sandbox %v: no start line (%v); stderr:\n%s", args, err, stderr)
		}
		go io.Copy(io.Discard, outR)
		return info, stderr, func() int {
			cancel()
			select {
			case code := <-done:
				return code
			case <-time.After(30 * time.Second):
				t.Fatal("the sandbox did not stop")
			}
			return -1
		}
	}
	info, stderr, stop := run("--users", "50")
	if n := waitFor(t, stderr, regexp.MustCompile(`sandbox: ready.* channels=(\d+) `)); n != "40" {
		t.Errorf("the ready line counts %s channels; want the 40 generated: %s", n, stderr)
	}
	resp, err := http.Post(info.ControlURL+"tokens", "application/json", strings.NewReader(`{"scopes":["users:read"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok slacksim.IssuedToken
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if code := stop(); code != 0 {
		t.Fatalf("sandbox exited %d: %s", code, stderr)
	}

	again, stderr, stop := run()
	defer stop()
	if again.ClientSecret != info.ClientSecret || again.ClientID != info.ClientID {
		t.Error("started again on its state file, the sandbox has another app")
	}
	req, _ := http.NewRequest("POST", again.APIURL+"auth.test", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var test map[string]any
	json.NewDecoder(resp.Body).Decode(&test)
	resp.Body.Close()
	if test["ok"] != true {
		t.Errorf("auth.test with a token issued before the restart: %v", test)
	}
	if strings.Contains(stderr.String(), tok.AccessToken) {
		t.Error("the sandbox logged a token")
	}

	var errOut strings.Builder
	code := cli.Execute(context.Background(), []string{"sandbox", "--addr", "127.0.0.1:0", "--state-file", state, "--users", "51"}, io.Discard, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "--users 50 (not 51)") || !strings.Contains(errOut.String(), "--reset") {
		t.Errorf("a --users that disagrees with the state file: exit %d, %q; want exit 2 naming --users 50 and --reset", code, errOut.String())
	}
}

// sandboxEventsReachTheHub: serve --sandbox points the sandbox app's
// Request URL at the hub's receiver, which passed the url_verification, and
// a change in the sandbox is delivered to the hub and acknowledged.
func sandboxEventsReachTheHub(t *testing.T, hub *servetest.Hub) {
	t.Helper()
	get := func(path string, out any) {
		t.Helper()
		resp, err := http.Get(hub.SlackURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var sub struct {
		Subscription *slacksim.EventSubscriptionState `json:"subscription"`
	}
	deadline := time.Now().Add(time.Minute)
	for get("/_sandbox/event_subscriptions", &sub); sub.Subscription == nil || !sub.Subscription.Enabled; get("/_sandbox/event_subscriptions", &sub) {
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox's events never went to the hub: %+v; logs:\n%s", sub.Subscription, hub.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(sub.Subscription.RequestURL, "http://127.0.0.1:") || !strings.HasSuffix(sub.Subscription.RequestURL, "/v1/events/slack") {
		t.Errorf("the sandbox app's Request URL is %s, want the hub's receiver", sub.Subscription.RequestURL)
	}
	resp, err := http.Post(hub.SlackURL+"/_sandbox/events", "application/json",
		strings.NewReader(`{"event": {"type": "channel_created", "channel": {"id": "C0SERVE", "name": "made-for-the-test", "created": 1700000000}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var emitted struct {
		EventIDs []string `json:"event_ids"`
	}
	json.NewDecoder(resp.Body).Decode(&emitted)
	resp.Body.Close()
	if len(emitted.EventIDs) != 1 {
		t.Fatalf("POST /_sandbox/events: %d, %v", resp.StatusCode, emitted)
	}
	var log struct {
		Deliveries []slacksim.EventDelivery `json:"deliveries"`
	}
	for {
		get("/_sandbox/events/deliveries?event_id="+emitted.EventIDs[0], &log)
		if len(log.Deliveries) == 1 && log.Deliveries[0].State == slacksim.DeliveryAcked {
			return
		}
		if len(log.Deliveries) == 1 && log.Deliveries[0].State == slacksim.DeliveryFailed || time.Now().After(deadline) {
			t.Fatalf("the event's delivery to the hub: %+v; logs:\n%s", log.Deliveries, hub.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
