package replicatest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/store/storetest"
)

// argsEnv carries a child process's connhub arguments (JSON): the test
// binary run with it set is `connhub` itself.
const argsEnv = "CONNHUB_REPLICATEST_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(argsEnv); args != "" {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			fmt.Fprintln(os.Stderr, "replicatest: bad", argsEnv, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := cli.Execute(ctx, argv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// cluster is a Slack sandbox and replicas of `connhub serve`, each a process
// of its own, on one PostgreSQL database, one key file and one admin token.
type cluster struct {
	t        testing.TB
	sandbox  *slacksim.Server
	slackURL string
	info     slacksim.Info
	dsn      string
	dir      string
	token    string // the admin's API token (CONNHUB_ADMIN_TOKEN)
	extra    []string
	replicas []*replica
}

// replica is one `connhub serve` process.
type replica struct {
	n    int
	url  string
	cmd  *exec.Cmd
	logs *servetest.Buffer
	done chan struct{}
}

var servingLine = regexp.MustCompile(`connhub: serving on (http://\S+)`)

// newCluster starts a sandbox with a one-second rate window and n replicas
// with extra serve arguments. Without PostgreSQL the test is skipped (in CI
// .ci/run provides it).
func newCluster(t testing.TB, n int, extra ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, dsn: storetest.PostgresDatabase(t), dir: t.TempDir(), extra: extra}
	c.sandbox, c.slackURL = sandboxtest.Start(t, slacksim.Config{Users: 2000, Channels: 300, RateLimits: true, RateWindow: time.Second,
		TokenRotation: true})
	c.info = c.sandbox.Info(c.slackURL)
	var out bytes.Buffer
	if code := cli.ExecuteEnv(context.Background(), []string{"token", "new"}, &out, io.Discard, func(string) string { return "" }); code != 0 {
		t.Fatalf("connhub token new: exit %d", code)
	}
	c.token = strings.TrimSpace(out.String())
	out.Reset()
	if code := cli.ExecuteEnv(context.Background(), []string{"keys", "generate"}, &out, io.Discard, func(string) string { return "" }); code != 0 {
		t.Fatalf("connhub keys generate: exit %d", code)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "keys"), out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		// The first migrates the database and makes the organization; the
		// others join it.
		c.replicas = append(c.replicas, c.start(i))
	}
	return c
}

// start runs replica i (again, after a stop: same data directory).
func (c *cluster) start(i int) *replica {
	c.t.Helper()
	args := append([]string{"serve", "--db", c.dsn, "--key-file", filepath.Join(c.dir, "keys"), "--addr", "127.0.0.1:0",
		"--data-dir", filepath.Join(c.dir, fmt.Sprint("replica", i)), "--slack-url", c.slackURL, "--slack-rate-window", "1s"}, c.extra...)
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), argsEnv+"="+string(argv), "CONNHUB_ADMIN_TOKEN="+c.token,
		"CONNHUB_SLACK_CLIENT_ID="+c.info.ClientID, "CONNHUB_SLACK_CLIENT_SECRET="+c.info.ClientSecret,
		"CONNHUB_SLACK_SIGNING_SECRET="+c.info.SigningSecret)
	r := &replica{n: i, logs: &servetest.Buffer{}, done: make(chan struct{})}
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = r.logs
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	r.cmd = cmd
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.logs.Write([]byte(sc.Text() + "\n"))
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		cmd.Wait()
		close(r.done)
	}()
	c.t.Cleanup(func() { r.kill() })
	select {
	case r.url = <-found:
	case <-r.done:
		c.t.Fatalf("replica %d ended before serving:\n%s", i, r.logs)
	case <-time.After(90 * time.Second):
		c.t.Fatalf("replica %d did not serve within 90s:\n%s", i, r.logs)
	}
	if len(c.replicas) > i {
		c.replicas[i] = r
	}
	return r
}

// kill ends the process with SIGKILL, as a crash does.
func (r *replica) kill() {
	if r.cmd.Process != nil {
		r.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-r.done
}

// stop ends the process with SIGTERM, as an orchestrator does.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		t.Errorf("replica %d did not stop within 60s of SIGTERM", r.n)
		r.kill()
	}
}

// client calls a replica's API.
var client = &http.Client{Timeout: 2 * time.Minute}

// call sends a request to replica r with the Authorization header auth and
// decodes a JSON answer into out; it returns the status.
func (c *cluster) call(r *replica, method, path, auth string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.url+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s on replica %d: %v", method, path, r.n, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s on replica %d answered %d %.300s: %v", method, path, r.n, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func (c *cluster) admin() string { return "Bearer " + c.token }

// install creates an instance through replica r and allows it at Slack; the
// redirect comes back to r.
func (c *cluster) install(r *replica, name string) (id, instanceToken string) {
	c.t.Helper()
	var created struct {
		ID            string `json:"id"`
		InstanceToken string `json:"instance_token"`
		AuthorizeURL  string `json:"authorize_url"`
	}
	if st := c.call(r, "POST", "/v1/instances", c.admin(), map[string]any{"name": name}, &created); st != http.StatusCreated {
		c.t.Fatalf("create an instance: %d %+v", st, created)
	}
	resp, err := client.Get(sandboxtest.Consent(c.t, created.AuthorizeURL, "allow", nil).String())
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	var in struct{ Status string }
	c.call(r, "GET", "/v1/instances/"+created.ID, c.admin(), nil, &in)
	if in.Status != "active" {
		c.t.Fatalf("the instance after consent is %s", in.Status)
	}
	return created.ID, created.InstanceToken
}

// slackStats is the sandbox's count of calls, by method.
func (c *cluster) slackStats() slacksim.Stats { return c.sandbox.Stats() }

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	c *http.Client
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page gets base+path and returns its status, Location and body.
func (b *browser) page(t *testing.T, method, target string, form url.Values) (int, string, string) {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, rd)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// cookies moves the browser's cookies from one replica's URL to another's,
// as a load balancer in front of both would have them under one name.
func (b *browser) follow(from, to string) {
	f, _ := url.Parse(from)
	tt, _ := url.Parse(to)
	b.c.Jar.SetCookies(tt, b.c.Jar.Cookies(f))
}

// eventually polls cond until it holds or the deadline (a bound on the
// test, not a measure) passes.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
