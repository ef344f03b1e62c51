package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/servetest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
)

// load calls the hubs without pause, each call opening a sealed secret: the
// instance token (GET /v1/instances/{id}/token) and the bot token (a Slack
// call through the proxy to the sandbox, a few a second: the hub paces its
// calls to Slack's budget, 600 a minute for auth.test, and a call paced
// longer than the client's timeout would count as failed). It is bounded in calls and in time
// and stops by itself; stop ends it sooner.
type load struct {
	calls, failed atomic.Int64
	slackCalls    atomic.Int64 // of calls, those through the proxy
	mu            sync.Mutex
	failures      []string  // the first few failures
	nextSlack     time.Time // when the next call through the proxy is due
	stop          chan struct{}
	done          chan struct{}
}

const (
	loadMaxCalls = 50000
	loadMaxTime  = 3 * time.Minute
)

func startLoad(t *testing.T, token, instanceID string, hubURLs ...string) *load {
	t.Helper()
	l := &load{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(loadMaxTime)
	var wg sync.WaitGroup
	for _, base := range hubURLs {
		wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if l.calls.Load() >= loadMaxCalls || time.Now().After(deadline) {
					return
				}
				req, _ := http.NewRequest(http.MethodGet, base+"/v1/instances/"+instanceID+"/token", nil)
				if l.slackTurn() {
					req, _ = http.NewRequest(http.MethodPost, base+"/v1/instances/"+instanceID+"/slack/auth.test", nil)
				}
				req.Header.Set("Authorization", "Bearer "+token)
				l.call(client, req)
			}
		})
	}
	go func() { wg.Wait(); close(l.done) }()
	t.Cleanup(func() { l.end() })
	return l
}

// slackCallInterval spaces the calls through the proxy: 4 a second, 240 a
// minute, well inside auth.test's budget.
const slackCallInterval = 250 * time.Millisecond

// slackTurn reports whether the next call goes through the proxy.
func (l *load) slackTurn() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.nextSlack) {
		return false
	}
	l.nextSlack = now.Add(slackCallInterval)
	l.slackCalls.Add(1)
	return true
}

func (l *load) call(client *http.Client, req *http.Request) {
	l.calls.Add(1)
	resp, err := client.Do(req)
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && (!strings.Contains(req.URL.Path, "/slack/") || strings.Contains(string(body), `"ok":true`)) {
			return
		}
		err = fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, body)
	}
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) < 5 {
		l.failures = append(l.failures, req.Method+" "+req.URL.Path+": "+err.Error())
	}
}

// end stops the load and waits for its calls in flight.
func (l *load) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
}

// progress waits until the load made n more calls, so that each step of a
// rotation runs under load, and fails if the load stopped first.
func (l *load) progress(t *testing.T, n int64) {
	t.Helper()
	want := l.calls.Load() + n
	for l.calls.Load() < want {
		select {
		case <-l.done:
			t.Fatalf("the load stopped (its bounds: %d calls, %s) after %d calls", loadMaxCalls, loadMaxTime, l.calls.Load())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// check wants every call to have succeeded.
func (l *load) check(t *testing.T) {
	t.Helper()
	l.end()
	if n := l.failed.Load(); n > 0 {
		t.Errorf("%d of %d calls failed during the rotation; the first:\n%s", n, l.calls.Load(), strings.Join(l.failures, "\n"))
		return
	}
	if l.slackCalls.Load() == 0 {
		t.Error("no call went through the proxy during the rotation")
	}
	t.Logf("%d calls during the rotation (%d through the proxy), none failed", l.calls.Load(), l.slackCalls.Load())
}

var addedKey = regexp.MustCompile(`added key (\S+) to`)

// rotate runs keys add, promote, reseal and retire with args (the database
// and key file), under l, and checks what each step left.
func rotate(t *testing.T, l *load, keyFile string, args ...string) {
	t.Helper()
	keys := func(cmd ...string) string {
		t.Helper()
		code, out, errOut := run(t, nil, append(append([]string{"keys"}, cmd...), args...)...)
		if code != 0 {
			t.Fatalf("connhub keys %s: exit %d: %s%s", strings.Join(cmd, " "), code, out, errOut)
		}
		l.progress(t, 20)
		return out
	}
	before, err := secrets.LoadKeySet(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	old := before.PrimaryID()
	l.progress(t, 20)
	m := addedKey.FindStringSubmatch(keys("add"))
	if m == nil {
		t.Fatal("keys add named no key")
	}
	added := m[1]
	// Nothing may be sealed with the new key before every replica holds it.
	if set, _ := secrets.LoadKeySet(keyFile); set.PrimaryID() != old {
		t.Fatalf("after keys add the primary is %s, want still %s", set.PrimaryID(), old)
	}
	keys("promote", added, "--wait", "30s")
	if out := keys("reseal", "--wait", "30s"); !strings.Contains(out, "with key "+added) || strings.Contains(out, "still seal") {
		t.Errorf("keys reseal printed %q", out)
	}
	status := keys("status")
	if !regexp.MustCompile(regexp.QuoteMeta(old) + `\s+opens\s+0 secrets`).MatchString(status) {
		t.Errorf("after the reseal keys status says:\n%s\nwant no secret sealed with %s", status, old)
	}
	var st struct {
		Keys []struct {
			ID      string `json:"id"`
			Role    string `json:"role"`
			Secrets int64  `json:"secrets"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(keys("status", "-o", "json")), &st); err != nil || len(st.Keys) != 2 ||
		st.Keys[0].ID != old || st.Keys[0].Secrets != 0 || st.Keys[1].ID != added || st.Keys[1].Role != "seals" || st.Keys[1].Secrets == 0 {
		t.Errorf("keys status -o json: %+v (%v); want %s sealing nothing and %s sealing", st, err, old, added)
	}
	keys("retire", old, "--wait", "30s")
	after, err := secrets.LoadKeySet(keyFile)
	if err != nil || !slices.Equal(after.IDs(), []string{added}) || after.PrimaryID() != added {
		t.Errorf("key file after the rotation: %v primary %s (%v), want only %s", after.IDs(), after.PrimaryID(), err, added)
	}
}

// sharedSandbox runs a sandbox with token rotation off, that several hubs
// call as their Slack.
func sharedSandbox(t *testing.T) (*slacksim.Server, string) {
	t.Helper()
	sb, err := slacksim.New(slacksim.Config{Users: 10})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb.Handler())
	t.Cleanup(ts.Close)
	return sb, ts.URL
}

func hubEnv(info slacksim.Info) map[string]string {
	return map[string]string{
		"CONNHUB_SLACK_CLIENT_ID":      info.ClientID,
		"CONNHUB_SLACK_CLIENT_SECRET":  info.ClientSecret,
		"CONNHUB_SLACK_SIGNING_SECRET": info.SigningSecret,
	}
}

// TestKeyRotationWhileServingSQLite rotates the keys of a serving hub with the
// CLI against the same data directory, under load: no call fails.
func TestKeyRotationWhileServingSQLite(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "Acme")
	l := startLoad(t, h.token, id, h.url)
	rotate(t, l, filepath.Join(h.dataDir, "keys"), "--data-dir", h.dataDir)
	// A key file the hub cannot read keeps the keys it has: calls go on,
	// and the log says why, once.
	keyFile := filepath.Join(h.dataDir, "keys")
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	waitLog(t, h.logs, "could not be reloaded")
	l.progress(t, 20)
	os.Chmod(keyFile, 0o600)
	l.check(t)
	if n := strings.Count(h.logs.String(), "could not be reloaded"); n != 1 {
		t.Errorf("the unreadable key file was logged %d times, want once:\n%s", n, h.logs)
	}
	// The key's lifecycle is in the organization's audit log.
	code, out, errOut := runCLI(t, h.env(nil), "audit", "list", "--action", "keys.")
	for _, step := range []string{"keys.promote", "keys.reseal", "keys.retire"} {
		if code != 0 || !strings.Contains(out, step) {
			t.Errorf("audit list --action keys.: exit %d, %q %q; want %s", code, out, errOut, step)
		}
	}
}

// TestKeyRotationWhileTwoReplicasServe rotates the keys of two hubs serving
// from one PostgreSQL database and one key file, under load on both: no call
// fails.
func TestKeyRotationWhileTwoReplicasServe(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresDatabase(t)
	sb, sbURL := sharedSandbox(t)
	info := sb.Info(sbURL)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	if _, err := secrets.CreateKeyFile(keyFile, time.Now()); err != nil {
		t.Fatal(err)
	}
	args := []string{"--db", dsn, "--key-file", keyFile}
	serve := append([]string{"--slack-url", sbURL}, args...)
	a := servetest.Start(t, append([]string{"--data-dir", filepath.Join(dir, "a")}, serve...), hubEnv(info))
	b := servetest.Start(t, append([]string{"--data-dir", filepath.Join(dir, "b")}, serve...), hubEnv(info))
	if a.APIToken == "" {
		t.Fatal("the first replica printed no API token")
	}
	h := &testHub{sandbox: sb, sbURL: sbURL, info: info, url: a.URL, token: a.APIToken}
	id := h.createFromToken(t, "Acme")
	l := startLoad(t, a.APIToken, id, a.URL, b.URL)
	rotate(t, l, keyFile, append([]string{"--data-dir", filepath.Join(dir, "cli")}, args...)...)
	l.check(t)
	for name, logs := range map[string]*servetest.Buffer{"a": a.Logs, "b": b.Logs} {
		if !strings.Contains(logs.String(), "reloaded the key file") || strings.Contains(logs.String(), "could not be reloaded") {
			t.Errorf("replica %s's log:\n%s\nwant reloads and no failure", name, logs)
		}
	}
}

// TestPromoteWaitsForEveryReplica: a replica that does not hold the new key
// (here one given its keys in the environment) blocks promote, which names it.
func TestPromoteWaitsForEveryReplica(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresDatabase(t)
	_, sbURL := sharedSandbox(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	keys, err := secrets.CreateKeyFile(keyFile, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--db", dsn, "--key-file", keyFile, "--data-dir", dir}
	servetest.Start(t, []string{"--db", dsn, "--slack-url", sbURL, "--data-dir", dir}, map[string]string{"CONNHUB_ENCRYPTION_KEYS": keys[0].String()})
	code, out, errOut := run(t, nil, append([]string{"keys", "add"}, args...)...)
	m := addedKey.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("keys add: exit %d: %s%s", code, out, errOut)
	}
	code, _, errOut = run(t, nil, append([]string{"keys", "promote", m[1]}, args...)...)
	if code == 0 || !strings.Contains(errOut, "do not hold key "+m[1]) || strings.Count(errOut, "\n") != 1 {
		t.Errorf("promote with a replica lacking the key: exit %d, %q; want one line refusing", code, errOut)
	}
	if set, _ := secrets.LoadKeySet(keyFile); set.PrimaryID() != keys[0].ID {
		t.Errorf("the refused promote changed the primary to %s", set.PrimaryID())
	}
	code, _, errOut = run(t, nil, append([]string{"keys", "retire", keys[0].ID}, args...)...)
	if code == 0 || !strings.Contains(errOut, "primary") {
		t.Errorf("retire of the primary: exit %d, %q; want it refused", code, errOut)
	}
}

// TestRetireRefusedWhileSecretsUseTheKey: retire counts the secrets sealed
// with the key and refuses while there are any.
func TestRetireRefusedWhileSecretsUseTheKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _, errOut := run(t, nil, "migrate", "--data-dir", dir); code != 0 {
		t.Fatal(errOut)
	}
	old, err := secrets.LoadKeySet(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	_, out, _ := run(t, nil, "keys", "add", "--data-dir", dir)
	added := addedKey.FindStringSubmatch(out)[1]
	if code, _, errOut := run(t, nil, "keys", "promote", added, "--data-dir", dir); code != 0 {
		t.Fatal(errOut)
	}
	code, _, errOut := run(t, nil, "keys", "retire", old.PrimaryID(), "--data-dir", dir)
	if code == 0 || !regexp.MustCompile(`\d+ secrets in the database are still sealed with key `+old.PrimaryID()).MatchString(errOut) {
		t.Errorf("retire before reseal: exit %d, %q; want refused with the count", code, errOut)
	}
	if set, _ := secrets.LoadKeySet(filepath.Join(dir, "keys")); !slices.Contains(set.IDs(), old.PrimaryID()) {
		t.Error("the refused retire removed the key")
	}
}

// TestServerReloadsOnAnUnknownKey is the finding of issue 11: every secret
// resealed with a key the serving hub does not hold (what `keys rotate` did
// while serving). The hub reloads its key file and answers; before, every
// call opening a secret answered 500 until a restart.
func TestServerReloadsOnAnUnknownKey(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "Acme")
	get := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/instances/"+id+"/token", nil)
		req.Header.Set("Authorization", "Bearer "+h.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("before: HTTP %d %s", code, body)
	}
	// The unsafe rotation, done behind the hub's back: a key added and made
	// primary, and every secret resealed with it, at once.
	keyFile := filepath.Join(h.dataDir, "keys")
	added, err := secrets.AppendKey(keyFile, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := secrets.PromoteKey(keyFile, added.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	set, err := secrets.LoadKeySet(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := set.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(h.dataDir, "connhub.db"), ring)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Reseal(context.Background()); err != nil || n == 0 {
		t.Fatalf("reseal: %d, %v", n, err)
	}
	if code, body := get(); code != http.StatusOK {
		t.Errorf("after a reseal with a key the hub had not loaded: HTTP %d %s; want the hub to reload and answer", code, body)
	}
}

// waitLog waits until the hub logged s.
func waitLog(t *testing.T, logs *servetest.Buffer, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the hub did not log %q within 30s:\n%s", s, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
