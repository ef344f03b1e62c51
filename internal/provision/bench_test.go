package provision_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/provision"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slackspec"
	"github.com/connhub/connhub/internal/store"
)

// BenchmarkApply is issue 15's benchmark: a plan that creates 2,000 people
// and updates 2,000 in a sandbox of 10,000 users under a one-second rate
// window, applied by connhub (the service's run, paced in the one stack,
// each outcome in the store), against the floor Slack's SCIM limits allow
// for those calls, and against a plain sequential SCIM client that sleeps
// on 429 (the same engine, Sequential, over plain HTTP with the admin
// token). Each applies its own plan of as many changes of each kind to
// other people, in the same run.
//
//	go test ./internal/provision -run '^$' -bench Apply -benchtime 1x -timeout 30m
//	BENCH_N=500 go test …   # 500 creates and 500 updates
//	BENCH_POSTGRES=1 CONNHUB_TEST_POSTGRES=postgres://… go test …   # the hub on PostgreSQL
func BenchmarkApply(b *testing.B) {
	n := envInt("BENCH_N", 2000)
	window := time.Second
	h := hubtest.Start(b, hubtest.Options{Sandbox: slacksim.Config{Users: 10000, RateLimits: true, RateWindow: window},
		Postgres: os.Getenv("BENCH_POSTGRES") != ""})
	users := activeUsers(b, h, 2*n)
	floor := applyFloor(n, n, window)
	for b.Loop() {
		// connhub: the plan made and applied through the service.
		file := directory(users[:n], "connhub", n)
		sp, err := h.Hub.Provisioning.Plan(ctx, h.Admin, h.Instance.ID, provision.PlanInput{File: []byte(file), Format: provision.FormatCSV})
		if err != nil {
			b.Fatal(err)
		}
		if c := sp.Plan.Counts; c.Create != n || c.Update != n {
			b.Fatalf("the plan creates %d and updates %d, want %d each", c.Create, c.Update, n)
		}
		before := h.Sandbox.Stats().SCIM["ratelimited"]
		run, err := h.Hub.Provisioning.Apply(ctx, h.Admin, h.Instance.ID, sp.ID)
		if err != nil {
			b.Fatal(err)
		}
		for !run.Finished() {
			time.Sleep(50 * time.Millisecond)
			if run, err = h.Store.GetProvisioningRun(ctx, h.Admin.Org.ID, run.ID); err != nil {
				b.Fatal(err)
			}
		}
		if run.Status != store.RunSucceeded || run.Done != 2*n {
			b.Fatalf("connhub's run ended %s (%s): %d of %d done", run.Status, run.Reason, run.Done, run.Total)
		}
		wall := run.FinishedAt.Sub(run.StartedAt)
		limited := h.Sandbox.Stats().SCIM["ratelimited"] - before

		// The baseline: a plain client, one change at a time, sleeping on 429.
		time.Sleep(2 * window) // Slack's buckets full again
		st, err := provision.ReadState(ctx, &provision.HTTPClient{BaseURL: h.SlackURL + "/scim/v2", Token: adminToken(b, h)}, provision.Retry{})
		if err != nil {
			b.Fatal(err)
		}
		dir, err := provision.Parse(strings.NewReader(directory(users[n:], "plain", n)), provision.FormatCSV, provision.MatchEmail)
		if err != nil {
			b.Fatal(err)
		}
		plan, err := provision.NewPlan(dir, st, provision.Options{}.WithDefaults())
		if err != nil {
			b.Fatal(err)
		}
		before = h.Sandbox.Stats().SCIM["ratelimited"]
		start := time.Now()
		res, err := provision.Apply(ctx, &provision.HTTPClient{BaseURL: h.SlackURL + "/scim/v2", Token: adminToken(b, h)}, plan,
			provision.NewMemoryProgress(), provision.ApplyOptions{Sequential: true, Retry: provision.Retry{RateLimited: 1000}})
		plain := time.Since(start)
		if err != nil || res.Done != 2*n {
			b.Fatalf("the plain client: %+v %v", res, err)
		}
		plainLimited := h.Sandbox.Stats().SCIM["ratelimited"] - before

		b.ReportMetric(wall.Seconds(), "connhub-s")
		b.ReportMetric(wall.Seconds()/floor.Seconds(), "connhub/floor")
		b.ReportMetric(float64(limited), "connhub-429s")
		b.ReportMetric(plain.Seconds(), "plain-s")
		b.ReportMetric(plain.Seconds()/floor.Seconds(), "plain/floor")
		b.ReportMetric(float64(plainLimited), "plain-429s")
		b.Logf("%d creates and %d updates, window %s: floor %.2fs; connhub %.2fs (%.3f of the floor, %d 429s from Slack); plain sequential client %.2fs (%.3f, %d 429s slept on)",
			n, n, window, floor.Seconds(), wall.Seconds(), wall.Seconds()/floor.Seconds(), limited, plain.Seconds(), plain.Seconds()/floor.Seconds(), plainLimited)
	}
}

// applyFloor is the least time Slack's SCIM limits allow for creates and
// updates of users made side by side: each limit's calls past its burst at
// its rate, the slowest limit bounding.
func applyFloor(creates, updates int, window time.Duration) time.Duration {
	at := func(l slackspec.SCIMLimit, calls int) time.Duration {
		return time.Duration(float64(max(calls-l.Burst, 0)) / float64(l.PerMinute) * float64(window))
	}
	return max(at(slackspec.SCIMUsersCreate, creates), at(slackspec.SCIMUsersUpdate, updates), at(slackspec.SCIMWrites, creates+updates))
}

// directory is a file that updates the title of each of users and creates
// n new people named after tag.
func directory(users []map[string]any, tag string, n int) string {
	var b strings.Builder
	b.WriteString("userName,email,title\n")
	for _, u := range users {
		fmt.Fprintf(&b, "%s,%s,%s title\n", u["userName"], primaryEmail(u), tag)
	}
	for i := range n {
		fmt.Fprintf(&b, "%s%d,%s%d@bench.example,new\n", tag, i, tag, i)
	}
	return b.String()
}

func primaryEmail(u map[string]any) string {
	emails, _ := u["emails"].([]any)
	for _, e := range emails {
		if m := e.(map[string]any); m["primary"] == true {
			return m["value"].(string)
		}
	}
	return emails[0].(map[string]any)["value"].(string)
}

// activeUsers are n active people of the sandbox with an email, read over
// SCIM. The instance's user is the primary owner, who may change anyone.
func activeUsers(b *testing.B, h *hubtest.Hub, n int) []map[string]any {
	b.Helper()
	st, err := provision.ReadState(ctx, &provision.HTTPClient{BaseURL: h.SlackURL + "/scim/v2", Token: adminToken(b, h)}, provision.Retry{})
	if err != nil {
		b.Fatal(err)
	}
	var out []map[string]any
	for _, u := range st.Users {
		if u.Active && len(u.Emails) > 0 && len(out) < n {
			out = append(out, map[string]any{"userName": u.UserName, "emails": []any{map[string]any{"value": u.PrimaryEmail(), "primary": true}}})
		}
	}
	if len(out) < n {
		b.Fatalf("the sandbox has %d active people with an email, want %d", len(out), n)
	}
	return out
}

// adminToken is the instance's user token: the primary owner's, with the
// admin scope.
func adminToken(b *testing.B, h *hubtest.Hub) secrets.Secret {
	b.Helper()
	in, err := h.Store.GetInstance(ctx, h.Instance.OrgID, h.Instance.ID)
	if err != nil {
		b.Fatal(err)
	}
	return in.UserToken
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
