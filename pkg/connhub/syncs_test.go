package connhub_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connhub/connhub/pkg/connhub"
)

// These test how the client reads answers a hub seldom gives (an export that
// breaks off, a hub that restarts while a sync is followed) from a server
// that gives them on purpose; syncs_hub_test.go runs the same calls against
// a real hub.

// exportServer answers an export with lines, declaring count in the
// trailer unless count is negative, or cutting the connection when cut.
func exportServer(t *testing.T, lines []string, count int, cut bool) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("format") != "jsonl" || !strings.HasSuffix(r.URL.Path, "/records/users/export") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"code":"bad_test","message":"unexpected request `+r.URL.String()+`"}`)
			return
		}
		w.Header().Set("Trailer", connhub.ExportRecordsTrailer)
		w.Header().Set("Content-Type", "application/x-ndjson")
		for _, l := range lines {
			io.WriteString(w, l+"\n")
			w.(http.Flusher).Flush()
		}
		if cut {
			panic(http.ErrAbortHandler)
		}
		if count >= 0 {
			w.Header().Set(connhub.ExportRecordsTrailer, fmt.Sprint(count))
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestExportCompleteness(t *testing.T) {
	t.Parallel()
	lines := []string{`{"key":"U1","data":{}}`, `{"key":"U2","data":{}}`, `{"key":"U3","data":{}}`}
	for _, tc := range []struct {
		name      string
		count     int
		cut       bool
		truncated string // "" when whole
	}{
		{"declared whole", 3, false, ""},
		{"no trailer", -1, false, "no Connhub-Export-Records trailer"},
		{"connection cut", -1, true, "truncated"},
		{"fewer records than declared", 5, false, "the hub wrote 5 records and 3 arrived"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := exportServer(t, lines, tc.count, tc.cut)
			r, err := connhub.New(ts.URL, "chub_x").Export(ctx, "ins_1", "users", connhub.ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			body, err := io.ReadAll(r)
			switch {
			case tc.truncated == "" && (err != nil || r.Records() != 3):
				t.Errorf("read %d records declared, error %v; want 3 and none", r.Records(), err)
			case tc.truncated != "" && (!errors.Is(err, connhub.ErrExportTruncated) || !strings.Contains(err.Error(), tc.truncated)):
				t.Errorf("read error %v; want ErrExportTruncated saying %q", err, tc.truncated)
			case !tc.cut && string(body) != strings.Join(lines, "\n")+"\n":
				t.Errorf("read %q; want the lines as sent", body)
			}
			// The error stays.
			if n, again := r.Read(make([]byte, 8)); n != 0 || (err != nil && !errors.Is(again, err)) {
				t.Errorf("read again: %d, %v; want the same end", n, again)
			}
		})
	}

	t.Run("an error answer", func(t *testing.T) {
		ts := exportServer(t, nil, 0, false)
		_, err := connhub.New(ts.URL, "chub_x").Export(ctx, "ins_1", "channels", connhub.ExportOptions{})
		wantError(t, err, http.StatusBadRequest, "bad_test")
	})

	t.Run("not bound by the client's timeout", func(t *testing.T) {
		release := make(chan struct{})
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", connhub.ExportRecordsTrailer)
			w.Header().Set("Content-Type", "application/x-ndjson")
			io.WriteString(w, lines[0]+"\n")
			w.(http.Flusher).Flush()
			<-release
			io.WriteString(w, lines[1]+"\n")
			w.Header().Set(connhub.ExportRecordsTrailer, "2")
		}))
		t.Cleanup(ts.Close)
		c := connhub.New(ts.URL, "chub_x", connhub.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
		r, err := c.Export(ctx, "ins_1", "users", connhub.ExportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		first := make([]byte, len(lines[0])+1)
		if _, err := io.ReadFull(r, first); err != nil {
			t.Fatal(err)
		}
		// Past the client's timeout, the export goes on.
		timer := time.AfterFunc(200*time.Millisecond, func() { close(release) })
		defer timer.Stop()
		if rest, err := io.ReadAll(r); err != nil || string(rest) != lines[1]+"\n" {
			t.Errorf("after the timeout: %q, %v; want the rest of the export", rest, err)
		}
	})
}

// flakyHub answers GET of a run with the answers in turn: a SyncRun, or an
// HTTP status for an error.
func flakyHub(t *testing.T, answers ...any) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var polls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(polls.Add(1)) - 1
		if i >= len(answers) {
			i = len(answers) - 1
		}
		switch a := answers[i].(type) {
		case connhub.SyncRun:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(a)
		case int:
			if a == http.StatusBadGateway { // a proxy's page
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(a)
				io.WriteString(w, "<html>502 Bad Gateway</html>")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a)
			fmt.Fprintf(w, `{"code":"status_%d","message":"answered %d"}`, a, a)
		}
	}))
	t.Cleanup(ts.Close)
	return ts, &polls
}

func TestWaitSync(t *testing.T) {
	t.Parallel()
	run := func(status string) connhub.SyncRun {
		return connhub.SyncRun{ID: "run_1", InstanceID: "ins_1", Status: status, Streams: []string{"users"},
			Progress: map[string]connhub.StreamProgress{"users": {State: connhub.StreamRunning}}}
	}
	failed := run(connhub.RunFailed)
	failed.Error = "users: slack: internal_error"
	for _, tc := range []struct {
		name    string
		answers []any
		retries int
		status  string // of the run returned
		err     string // "" for none
		polls   int32
		seen    int // snapshots OnPoll was given
	}{
		{"passes transient errors", []any{run(connhub.RunQueued), http.StatusBadGateway, run(connhub.RunRunning), http.StatusServiceUnavailable,
			http.StatusTooManyRequests, run(connhub.RunSucceeded)}, 0, connhub.RunSucceeded, "", 6, 3},
		{"gives up after the retries", []any{run(connhub.RunRunning), 503, 503, 503}, 2, connhub.RunRunning, "status_503", 4, 1},
		{"no retries", []any{run(connhub.RunRunning), 503}, -1, connhub.RunRunning, "status_503", 2, 1},
		{"a 404 at once", []any{http.StatusNotFound}, 0, "", "status_404", 1, 0},
		{"a failed run", []any{run(connhub.RunRunning), failed}, 0, connhub.RunFailed, "sync run_1 failed: users: slack: internal_error", 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts, polls := flakyHub(t, tc.answers...)
			var seen []string
			got, err := connhub.New(ts.URL, "chub_x").WaitSync(ctx, "ins_1", "run_1", connhub.WaitOptions{Interval: time.Millisecond, Retries: tc.retries,
				OnPoll: func(r connhub.SyncRun) { seen = append(seen, r.Status) }})
			if got.Status != tc.status || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("WaitSync: %s, %v; want %q and an error saying %q", got.Status, err, tc.status, tc.err)
			}
			if polls.Load() != tc.polls || len(seen) != tc.seen {
				t.Errorf("%d polls, OnPoll given %v; want %d polls and %d snapshots", polls.Load(), seen, tc.polls, tc.seen)
			}
			var se *connhub.SyncError
			if tc.status == connhub.RunFailed && (!errors.As(err, &se) || se.Run.Error != failed.Error) {
				t.Errorf("WaitSync on a failed run: %v; want a *SyncError with the run", err)
			}
		})
	}
	t.Run("the hub unreachable", func(t *testing.T) {
		t.Parallel()
		_, err := connhub.New("http://127.0.0.1:1", "chub_x").WaitSync(ctx, "ins_1", "run_1", connhub.WaitOptions{Interval: time.Millisecond, Retries: 2})
		var e *connhub.Error
		if err == nil || errors.As(err, &e) {
			t.Errorf("WaitSync with no hub: %v; want the transport's error after the retries", err)
		}
	})
	if _, err := connhub.New("http://127.0.0.1:1", "").WaitSync(ctx, "ins_1", "", connhub.WaitOptions{}); err == nil {
		t.Error("WaitSync without a sync ID did not fail")
	}
}
