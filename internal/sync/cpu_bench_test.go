package sync_test

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

// BenchmarkSyncCPU is issue 16's benchmark: what a full sync costs the
// hub's process. The sandbox (50,000 people, 1,000 channels, Business+, a
// one-second rate window) runs in this process; the hub's sync runs in a
// child process (TestChild, "execute"), so that the child's CPU time
// (user + system, from its rusage) and peak RSS are the hub's alone. Its
// calls go to the sandbox through a recording proxy in this process, which
// keeps every page Slack answered.
//
// In the same run, the minimal loader (a child too, "minimal") fetches the
// very same pages over HTTP, from this process's memory, decodes each with
// the same JSON library into the same rows (a record per list item, keyed
// by its ID) and inserts them with one prepared statement in transactions
// of 10,000 rows into a table of the records' shape with no other index:
// the physical floor of turning those pages into rows on this machine.
//
//	go test ./internal/sync -run '^$' -bench SyncCPU -benchtime 1x -timeout 30m
//	BENCH_USERS=100000 BENCH_CHANNELS=2000 go test …   # the larger workspace
//	BENCH_POSTGRES=1 CONNHUB_TEST_POSTGRES=postgres://… go test …   # the hub on PostgreSQL
//	BENCH_CPUPROFILE=/tmp/sync.pprof go test …   # the child's CPU profile
//	BENCH_HEAPPROFILE=/tmp/heap.pprof go test …   # its heap when most was in use
//	BENCH_HUB_GOMEMLIMIT=40MiB go test …   # the hub under a soft memory limit
func BenchmarkSyncCPU(b *testing.B) {
	users, channels := envInt(b, "BENCH_USERS", 50000), envInt(b, "BENCH_CHANNELS", 1000)
	window := time.Duration(envInt(b, "BENCH_WINDOW_MS", 1000)) * time.Millisecond
	pg := os.Getenv("BENCH_POSTGRES") != ""
	e := setup(b, hubtest.Options{Sandbox: slacksim.Config{Users: users, Channels: channels, RateLimits: true, RateWindow: window}, Postgres: pg}, sync.Config{})
	backend := "sqlite"
	if pg {
		backend = "postgres"
	}
	for range b.N {
		rec := newRecorder(b, e.SlackURL)
		run, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{})
		if err != nil {
			b.Fatal(err)
		}
		before := e.Sandbox.Stats()
		env := append(childEnviron(e, backend, "execute", run.ID), "CHILD_WINDOW_MS="+strconv.Itoa(int(window/time.Millisecond)),
			"CHILD_CPUPROFILE="+os.Getenv("BENCH_CPUPROFILE"), "CHILD_HEAPPROFILE="+os.Getenv("BENCH_HEAPPROFILE"))
		env = replaceEnv(env, "CHILD_SLACK", rec.srv.URL)
		if limit := os.Getenv("BENCH_HUB_GOMEMLIMIT"); limit != "" {
			env = replaceEnv(env, "GOMEMLIMIT", limit) // the hub's soft memory limit, as an operator sets it
		}
		slackBefore := selfCPU()
		hub := runChild(b, env)
		slackCPU := selfCPU() - slackBefore // the sandbox and the proxy, on the same two cores
		calls := statsSince(before, e.Sandbox.Stats())
		r, err := e.svc.Get(ctx, e.Admin, run.InstanceID, run.ID)
		if err != nil || r.Status != store.RunSucceeded {
			b.Fatalf("the run: %s %s %v", r.Status, r.Error, err)
		}
		var records, madeCalls, fewest, limited int64
		for _, p := range r.State {
			records += p.Records
			madeCalls += p.Calls
			fewest += p.Fewest
		}
		for _, m := range calls {
			limited += m.RateLimited
		}
		floor, slowest := floorOf(calls, window)

		// The minimal loader, on the same pages.
		pages := rec.serve(b)
		loaderEnv := replaceEnv(childEnviron(e, "sqlite", "minimal", ""), "CHILD_PAGES", pages.URL)
		loaderEnv = replaceEnv(loaderEnv, "CHILD_DSN", filepath.Join(b.TempDir(), "minimal.db"))
		loader := runChild(b, loaderEnv)
		rows, _ := strconv.ParseInt(loader.said["rows:"], 10, 64)

		per := func(cpu time.Duration, n int64) float64 { return cpu.Seconds() / float64(n) * 10000 }
		b.ReportMetric(per(hub.cpu, records), "hub-cpu-s/10k-records")
		b.ReportMetric(per(loader.cpu, rows), "loader-cpu-s/10k-rows")
		b.ReportMetric(per(hub.cpu, records)/per(loader.cpu, rows), "x-loader")
		b.ReportMetric(hub.wall.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(hub.rssMiB, "hub-peak-rss-MiB")
		b.ReportMetric(float64(madeCalls)/float64(fewest), "x-fewest-calls")
		b.ReportMetric(slackCPU.Seconds(), "sandbox-cpu-s")
		b.ReportMetric(float64(limited), "429s")
		fmt.Fprintf(os.Stderr, "full sync of %d users, %d channels on %s, %s window: %d records, %d calls (%d pages kept; the data needed %d: %.3f), %d 429s\n",
			users, channels, backend, window, records, madeCalls, len(rec.pages), fewest, float64(madeCalls)/float64(fewest), limited)
		fmt.Fprintf(os.Stderr, "  hub:    %6.2f CPU-s (%.3f per 10,000 records), wall %s, floor %s (%s): %.3f; peak RSS %.1f MiB\n",
			hub.cpu.Seconds(), per(hub.cpu, records), hub.wall.Round(time.Millisecond), floor.Round(time.Millisecond), slowest,
			hub.wall.Seconds()/floor.Seconds(), hub.rssMiB)
		fmt.Fprintf(os.Stderr, "  the sandbox and its recording proxy meanwhile: %.2f CPU-s; with the hub's, %.0f%% of two cores over the wall time\n",
			slackCPU.Seconds(), (hub.cpu+slackCPU).Seconds()/(2*hub.wall.Seconds())*100)
		fmt.Fprintf(os.Stderr, "  loader: %6.2f CPU-s (%.3f per 10,000 rows) for %d rows; the hub at %.2f× the loader\n",
			loader.cpu.Seconds(), per(loader.cpu, rows), rows, per(hub.cpu, records)/per(loader.cpu, rows))
		for _, name := range r.Streams {
			p := r.State[name]
			fmt.Fprintf(os.Stderr, "  %-18s %8d records %6d calls (fewest %6d), from %6.2fs to %6.2fs\n", name, p.Records, p.Calls, p.Fewest,
				p.StartedAt.Sub(r.StartedAt).Seconds(), p.FinishedAt.Sub(r.StartedAt).Seconds())
		}
	}
}

// childRun is what a child process cost and said.
type childRun struct {
	cpu, wall time.Duration
	rssMiB    float64
	said      map[string]string // "label:" → value, from its output
}

// runChild runs TestChild with env and measures it.
func runChild(b *testing.B, env []string) childRun {
	b.Helper()
	child := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
	child.Env = env
	start := time.Now()
	out, err := child.CombinedOutput()
	c := childRun{wall: time.Since(start), said: map[string]string{}}
	if err != nil {
		b.Fatalf("the child: %v\n%s", err, out)
	}
	if os.Getenv("BENCH_VERBOSE") != "" {
		os.Stderr.Write(out)
	}
	c.cpu = child.ProcessState.UserTime() + child.ProcessState.SystemTime()
	for _, line := range strings.Split(string(out), "\n") {
		if label, v, ok := strings.Cut(line, ": "); ok {
			c.said[label+":"] = strings.TrimSpace(v)
		}
	}
	if kib, err := strconv.ParseFloat(c.said[peakRSSLabel], 64); err == nil {
		c.rssMiB = kib / 1024
	}
	return c
}

// selfCPU is this process's CPU time so far (user and system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func replaceEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// recorder is a proxy to the sandbox that keeps every JSON page it answered
// ok, for the minimal loader.
type recorder struct {
	srv   *httptest.Server
	mu    gosync.Mutex
	pages []recordedPage
}

// recordedPage is a page as it came, compressed or not.
type recordedPage struct {
	method, encoding string
	body             []byte
}

func newRecorder(b *testing.B, slackURL string) *recorder {
	target, _ := url.Parse(slackURL)
	r := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		method, ok := strings.CutPrefix(resp.Request.URL.Path, "/api/")
		if !ok || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		head, encoding := body[:min(len(body), 16)], resp.Header.Get("Content-Encoding")
		if encoding == "gzip" {
			// Only the answer's start is read: the proxy's CPU competes
			// with the hub's for the machine's two cores.
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return err
			}
			head = make([]byte, 16)
			n, _ := io.ReadFull(zr, head)
			head = head[:n]
		}
		if bytes.Contains(head, []byte(`"ok":true`)) {
			r.mu.Lock()
			r.pages = append(r.pages, recordedPage{method, encoding, body})
			r.mu.Unlock()
		}
		return nil
	}
	r.srv = httptest.NewServer(proxy)
	b.Cleanup(r.srv.Close)
	return r
}

// serve answers GET /N with page N, 404 past the last.
func (r *recorder) serve(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		i, err := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/"))
		if err != nil || i < 0 || i >= len(r.pages) {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Method", r.pages[i].method)
		if r.pages[i].encoding != "" {
			w.Header().Set("Content-Encoding", r.pages[i].encoding)
		}
		w.Write(r.pages[i].body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// minimalLoader is the child that loads the recorded pages: each page's
// list (its largest array of objects, or object of objects) a row per
// item, keyed by the item's id (or its key in the object, or its place),
// inserted with one prepared statement, 10,000 rows a transaction.
func minimalLoader(t *testing.T) {
	db, err := sql.Open("sqlite", os.Getenv("CHILD_DSN")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE records (org_id TEXT NOT NULL, instance_id TEXT NOT NULL, stream TEXT NOT NULL, record_key TEXT NOT NULL,
		team_id TEXT NOT NULL, data TEXT NOT NULL, source_updated_at INTEGER, first_seen_at INTEGER NOT NULL, last_seen_at INTEGER NOT NULL,
		seen_run_id TEXT NOT NULL, deleted_at INTEGER, PRIMARY KEY (instance_id, stream, record_key))`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
		ON CONFLICT (instance_id, stream, record_key) DO UPDATE SET data = excluded.data, last_seen_at = excluded.last_seen_at`
	stmt, err := tx.Prepare(insert)
	if err != nil {
		t.Fatal(err)
	}
	rows, inTx := 0, 0
	at := time.Now().UnixMilli()
	base := os.Getenv("CHILD_PAGES")
	for i := 0; ; i++ {
		resp, err := http.Get(base + "/" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		method := resp.Header.Get("X-Method")
		var top map[string]json.RawMessage
		if err := json.Unmarshal(body, &top); err != nil {
			t.Fatal(err)
		}
		// The page's list: its largest array or object.
		var list json.RawMessage
		for _, v := range top {
			if len(v) > len(list) && (v[0] == '[' || v[0] == '{') {
				list = v
			}
		}
		put := func(key string, item json.RawMessage) {
			if _, err := stmt.Exec("org", "instance", method, key, "T", string(item), nil, at, at, "run"); err != nil {
				t.Fatal(err)
			}
			rows++
			if inTx++; inTx == 10000 {
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				if tx, err = db.Begin(); err != nil {
					t.Fatal(err)
				}
				if stmt, err = tx.Prepare(insert); err != nil {
					t.Fatal(err)
				}
				inTx = 0
			}
		}
		switch {
		case len(list) > 0 && list[0] == '[':
			var items []json.RawMessage
			if err := json.Unmarshal(list, &items); err != nil {
				t.Fatal(err)
			}
			if len(items) > 0 && items[0][0] != '{' {
				put(strconv.Itoa(i), list) // a list of IDs (a channel's members): one row, as the hub keeps it
				continue
			}
			for j, item := range items {
				// The item's ID; a login (no ID) by who, where and with what,
				// as the hub keys it, so that rows go into the B-tree in the
				// same order as the hub's.
				var id struct {
					ID        string `json:"id"`
					UserID    string `json:"user_id"`
					IP        string `json:"ip"`
					UserAgent string `json:"user_agent"`
				}
				json.Unmarshal(item, &id)
				key := id.ID
				switch {
				case key == "" && id.UserID != "":
					key = id.UserID + "/" + id.IP + "/" + id.UserAgent
				case key == "":
					key = fmt.Sprintf("%d/%d", i, j)
				}
				put(key, item)
			}
		case len(list) > 0:
			var items map[string]json.RawMessage
			if err := json.Unmarshal(list, &items); err != nil {
				t.Fatal(err)
			}
			for k, item := range items {
				put(k, item)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("rows:", rows)
}
