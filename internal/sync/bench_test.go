package sync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slackspec"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

// BenchmarkFullSync is issue 6's benchmark: a full sync of a workspace of
// 50,000 people and 1,000 channels on a sandbox whose rate window is a
// second (BENCH_WINDOW_MS), against (a) the floor, the least time Slack's budgets allow for the
// calls it takes, and (b) the same data fetched by a plain sequential
// slack-go loop that sleeps on 429, in the same run. BENCH_USERS and
// BENCH_CHANNELS make the workspace smaller; BENCH_LATENCY_MS delays every
// answer of the sandbox, as Slack's are over the internet. Run it with
//
//	go test -run '^$' -bench FullSync -benchtime 1x -timeout 30m ./internal/sync
//
// The floor counts, per method, the calls the slack-go loop needed with the
// largest page each method accepts (an independent count of the fewest calls
// Slack permits), spaced by the method's budget; methods are called in
// parallel, so the floor is the slowest method's.
func BenchmarkFullSync(b *testing.B) {
	users, channels := envInt(b, "BENCH_USERS", 50000), envInt(b, "BENCH_CHANNELS", 1000)
	window := time.Duration(envInt(b, "BENCH_WINDOW_MS", 1000)) * time.Millisecond
	latency := envInt(b, "BENCH_LATENCY_MS", 0)
	e := setup(b, hubtest.Options{Sandbox: slacksim.Config{Users: users, Channels: channels, RateLimits: true, RateWindow: window}}, sync.Config{})
	if latency > 0 {
		// Slack is not on loopback: every answer takes this long to come,
		// for the sync and for the loop alike.
		e.Fault(b, slacksim.Fault{Method: "*", LatencyMS: latency})
	}
	b.ResetTimer()
	for range b.N {
		before := e.Sandbox.Stats()
		start := time.Now()
		var streams []string // BENCH_STREAMS: some streams only, to see one in isolation
		if v := os.Getenv("BENCH_STREAMS"); v != "" {
			streams = strings.Split(v, ",")
		}
		r := e.run(b, sync.StartInput{Streams: streams})
		took := time.Since(start)
		syncStart := start
		ours := statsSince(before, e.Sandbox.Stats())
		if r.Status != store.RunSucceeded {
			b.Fatalf("run %s: %s; streams: %s", r.Status, r.Error, states(r))
		}
		b.StopTimer()

		time.Sleep(2 * window) // let the budgets refill
		before = e.Sandbox.Stats()
		start = time.Now()
		counts := slackgoLoop(b, e)
		loopTook := time.Since(start)
		theirs := statsSince(before, e.Sandbox.Stats())

		floor, slowest := floorOf(theirs, window)
		failed, limited := int64(0), int64(0) // retried calls: 5xx, timeouts, 429s
		for _, m := range ours {
			limited += m.RateLimited
		}
		for _, p := range r.State {
			failed += p.Retries
		}
		for stream, n := range counts {
			if _, ran := r.State[stream]; !ran {
				continue
			}
			if got := len(e.records(b, stream)); got != n {
				b.Errorf("%s: connhub has %d records, the slack-go loop saw %d", stream, got, n)
			}
		}
		b.ReportMetric(took.Seconds(), "s-sync")
		b.ReportMetric(floor.Seconds(), "s-floor")
		b.ReportMetric(took.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(loopTook.Seconds(), "s-slackgo")
		b.ReportMetric(loopTook.Seconds()/took.Seconds(), "x-faster-than-slackgo")
		b.ReportMetric(float64(limited), "429s")
		b.ReportMetric(float64(failed), "failed-calls")
		fmt.Fprintf(os.Stderr, "full sync of %d users, %d channels, %s window, %d ms latency: %s; floor %s (%s); slack-go loop %s\n",
			users, channels, window, latency, took.Round(time.Millisecond), floor.Round(time.Millisecond), slowest, loopTook.Round(time.Millisecond))
		fmt.Fprintf(os.Stderr, "%-26s %8s %8s %8s\n", "method", "connhub", "slack-go", "429s")
		for _, name := range sortedKeys(theirs) {
			fmt.Fprintf(os.Stderr, "%-26s %8d %8d %8d\n", name, ours[name].Calls, theirs[name].Calls-theirs[name].RateLimited, theirs[name].RateLimited)
		}
		for _, name := range r.Streams {
			p := r.State[name]
			fmt.Fprintf(os.Stderr, "  %-18s %-8s %8d records %6d calls %7.1fs waited, from %6.2fs to %6.2fs\n", name, p.State, p.Records, p.Calls,
				float64(p.WaitedMS)/1000, p.StartedAt.Sub(syncStart).Seconds(), p.FinishedAt.Sub(syncStart).Seconds())
		}
		b.StartTimer()
	}
}

// floorOf is the least time the calls in stats take under their methods'
// budgets when every method is called in parallel: a method's n calls, b
// per window, need (n-1)/b whole windows after the first call.
func floorOf(stats map[string]slacksim.MethodStats, window time.Duration) (time.Duration, string) {
	var floor time.Duration
	slowest := ""
	for name, s := range stats {
		m, ok := slackspec.Lookup(name)
		per, limited := m.PerMinute()
		n := s.Calls - s.RateLimited
		if !ok || !limited || n == 0 {
			continue
		}
		if d := time.Duration((n-1)/int64(per)) * window; d > floor {
			floor, slowest = d, fmt.Sprintf("%s: %d calls at %d a window", name, n, per)
		}
	}
	return floor, slowest
}

func statsSince(before, after slacksim.Stats) map[string]slacksim.MethodStats {
	out := map[string]slacksim.MethodStats{}
	for name, a := range after.Methods {
		b := before.Methods[name]
		d := slacksim.MethodStats{Calls: a.Calls - b.Calls, OK: a.OK - b.OK, Errors: a.Errors - b.Errors, RateLimited: a.RateLimited - b.RateLimited, Faults: a.Faults - b.Faults}
		if d.Calls > 0 {
			out[name] = d
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func envInt(b testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// slackgoLoop fetches what a default sync fetches the way a person would
// write it by hand: one call after another with slack-go, the largest pages
// each method accepts, sleeping out a 429's Retry-After. Where slack-go has
// no method (or does not page it), it posts the form itself. It returns how
// many objects of some streams it saw, to compare with what the sync wrote.
func slackgoLoop(b *testing.B, e *env) map[string]int {
	ctx := context.Background()
	bot := slackgo.New(e.Instance.BotToken.Reveal(), slackgo.OptionAPIURL(e.SlackURL+"/api/"))
	user := slackgo.New(e.Instance.UserToken.Reveal(), slackgo.OptionAPIURL(e.SlackURL+"/api/"))
	counts := map[string]int{}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(retry(func() error { _, err := bot.GetTeamInfoContext(ctx); return err }))
	_, err := rawCall(ctx, e, e.Instance.BotToken.Reveal(), "team.billing.info", nil)
	must(err)

	all, err := bot.GetUsersContext(ctx, slackgo.GetUsersOptionLimit(1000)) // it sleeps on 429 itself
	must(err)
	counts["users"] = len(all)

	for cursor := ""; ; {
		page, err := rawCall(ctx, e, e.Instance.UserToken.Reveal(), "team.billableInfo", url.Values{"limit": {"1000"}, "cursor": {cursor}})
		must(err)
		if cursor = nextCursor(page); cursor == "" {
			break
		}
	}
	// Each retry asks for the same page again: the cursor moves only on an
	// answer.
	for cursor := ""; ; {
		var logins []slackgo.Login
		var next string
		must(retry(func() (err error) {
			logins, next, err = user.GetAccessLogsContext(ctx, slackgo.AccessLogParameters{Limit: 1000, Cursor: cursor})
			return err
		}))
		cursor = next
		counts["access_logs"] += len(logins)
		if cursor == "" {
			break
		}
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for d := 1; d >= 1; d-- { // as many days as the sync fetches by default
		_, err := rawCall(ctx, e, e.Instance.UserToken.Reveal(), "admin.analytics.getFile",
			url.Values{"type": {"member"}, "date": {today.AddDate(0, 0, -d).Format(time.DateOnly)}})
		if err != nil && !strings.Contains(err.Error(), "file_not_found") && !strings.Contains(err.Error(), "data_not_available") {
			b.Fatal(err)
		}
	}

	var ids []string
	for cursor := ""; ; {
		var page []slackgo.Channel
		var next string
		must(retry(func() (err error) {
			page, next, err = bot.GetConversationsContext(ctx, &slackgo.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}, Limit: 1000, Cursor: cursor})
			return err
		}))
		cursor = next
		for _, c := range page {
			ids = append(ids, c.ID)
		}
		if cursor == "" {
			break
		}
	}
	counts["channels"] = len(ids)
	for _, id := range ids {
		for cursor := ""; ; {
			var next string
			err := retry(func() (err error) {
				_, next, err = bot.GetUsersInConversationContext(ctx, &slackgo.GetUsersInConversationParameters{ChannelID: id, Limit: 1000, Cursor: cursor})
				return err
			})
			cursor = next
			if err != nil && (err.Error() == "not_in_channel" || err.Error() == "channel_not_found") {
				break
			}
			must(err)
			if cursor == "" {
				break
			}
		}
		err := retry(func() error { _, err := bot.ListBookmarksContext(ctx, id); return err })
		if err != nil && err.Error() != "not_in_channel" && err.Error() != "channel_not_found" {
			b.Fatal(err)
		}
	}
	must(retry(func() error {
		_, err := bot.GetUserGroupsContext(ctx, slackgo.GetUserGroupsOptionIncludeDisabled(true), slackgo.GetUserGroupsOptionIncludeCount(true))
		return err
	}))
	must(retry(func() error {
		_, err := bot.GetUserGroupsContext(ctx, slackgo.GetUserGroupsOptionIncludeDisabled(true), slackgo.GetUserGroupsOptionIncludeUsers(true))
		return err
	}))
	for p := (slackgo.ListFilesParameters{Limit: 1000}); ; {
		var page []slackgo.File
		var next *slackgo.ListFilesParameters
		must(retry(func() (err error) { page, next, err = bot.ListFilesContext(ctx, p); return err }))
		counts["files"] += len(page)
		if next == nil || next.Cursor == "" {
			break
		}
		p = *next
	}
	must(retry(func() error { _, err := bot.GetEmojiContext(ctx); return err }))
	for page := 1; ; page++ {
		body, err := rawCall(ctx, e, e.Instance.UserToken.Reveal(), "team.integrationLogs", url.Values{"count": {"1000"}, "page": {strconv.Itoa(page)}})
		must(err)
		var p struct {
			Paging struct{ Pages int } `json:"paging"`
		}
		json.Unmarshal(body, &p)
		if page >= p.Paging.Pages {
			break
		}
	}
	return counts
}

// retry calls f until it is not rate limited, sleeping out each Retry-After.
func retry(f func() error) error {
	for {
		err := f()
		var rl *slackgo.RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		time.Sleep(rl.RetryAfter)
	}
}

// rawCall posts a form to a Web API method, sleeping out 429s, and returns
// the body of an ok answer.
func rawCall(ctx context.Context, e *env, token, method string, args url.Values) ([]byte, error) {
	if args == nil {
		args = url.Values{}
	}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.SlackURL+"/api/"+method, strings.NewReader(args.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
			continue
		}
		if !strings.Contains(resp.Header.Get("Content-Type"), "json") {
			return body, nil // a file: admin.analytics.getFile's gzip
		}
		var ok struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(body, &ok); err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		if !ok.OK {
			return nil, fmt.Errorf("%s: %s", method, ok.Error)
		}
		return body, nil
	}
}

func nextCursor(body []byte) string {
	var p struct {
		Meta struct {
			NextCursor string `json:"next_cursor"`
		} `json:"response_metadata"`
	}
	json.Unmarshal(body, &p)
	return p.Meta.NextCursor
}

// BenchmarkUsersSyncRSS is issue 6's memory benchmark: the peak RSS of a
// process that syncs the users of a 100,000-person workspace (target: at
// most 64 MiB), against, in the same run, a process that opens the store and
// does nothing, and one that reads the same users with slack-go's
// GetUsers, which holds them all. Each is a child process, so that the
// sandbox's own memory is not counted. BENCH_USERS makes it smaller.
//
//	go test -run '^$' -bench UsersSyncRSS -benchtime 1x -timeout 30m ./internal/sync
func BenchmarkUsersSyncRSS(b *testing.B) {
	users := envInt(b, "BENCH_USERS", 100000)
	e := setup(b, hubtest.Options{Sandbox: slacksim.Config{Users: users, Channels: 10}}, sync.Config{})
	for range b.N {
		run, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{Streams: []string{"users"}})
		if err != nil {
			b.Fatal(err)
		}
		ours := childRSS(b, e, "execute", run.ID)
		if r, _ := e.svc.Get(ctx, e.Admin, run.InstanceID, run.ID); r.Status != store.RunSucceeded || r.State["users"].Records < int64(users) {
			b.Fatalf("the users sync %s %s: %d records", r.Status, r.Error, r.State["users"].Records)
		}
		idle := childRSS(b, e, "idle", "")
		slackgoRSS := childRSS(b, e, "slackgo-users", "")
		b.ReportMetric(ours, "MiB-peak-rss")
		b.ReportMetric(idle, "MiB-idle")
		b.ReportMetric(slackgoRSS, "MiB-slackgo-getusers")
		b.ReportMetric(ours/slackgoRSS, "x-of-slackgo")
		fmt.Fprintf(os.Stderr, "users sync of %d users: peak RSS %.1f MiB (idle %.1f MiB, slack-go GetUsers %.1f MiB)\n", users, ours, idle, slackgoRSS)
	}
}

// childRSS runs a child process in mode and returns its peak RSS in MiB,
// as the child reports it.
func childRSS(b *testing.B, e *env, mode, runID string) float64 {
	child := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
	child.Env = childEnviron(e, "sqlite", mode, runID)
	out, err := child.CombinedOutput()
	if err != nil {
		b.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, peakRSSLabel); ok {
			kib, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return kib / 1024
			}
		}
	}
	b.Skipf("the child reported no peak RSS (not Linux?):\n%s", out)
	return 0
}
