package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8"

	"github.com/connhub/connhub/pkg/connhub"
)

// These test what `provision apply` prints from the hub's answers,
// without a hub; provision_test.go runs it against one.

// provisionSnapshots are a run of 40 changes as it is polled: queued,
// running, then failed with 2 changes refused.
func provisionSnapshots() []connhub.ProvisioningRun {
	snap := func(status string, done, failed, skipped int) connhub.ProvisioningRun {
		return connhub.ProvisioningRun{ID: "prn_1", InstanceID: "ins_1", PlanID: "pln_1", Status: status, Total: 40, Done: done, Failed: failed,
			Skipped: skipped, CreatedAt: t0, StartedAt: at(0)}
	}
	runs := []connhub.ProvisioningRun{snap(connhub.RunQueued, 0, 0, 0), snap(connhub.RunRunning, 8, 1, 1), snap(connhub.RunRunning, 20, 1, 1),
		snap(connhub.RunFailed, 36, 2, 2)}
	runs[0].StartedAt = nil
	runs[3].FinishedAt, runs[3].Reason = at(16*time.Second), "2 of 40 changes failed: Slack refused them"
	return runs
}

// TestApplyLines: without a terminal, a line when the run changes status
// and a summary every so often, never an escape code.
func TestApplyLines(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	v := newApplyLines(&b, 10*time.Second)
	clock := t0
	v.now, v.lastSummary = func() time.Time { return clock }, t0
	for i, run := range provisionSnapshots() {
		clock = t0.Add(time.Duration(i) * 6 * time.Second)
		v.update(run)
		v.update(run) // the same snapshot again prints nothing
	}
	v.stop(provisionSnapshots()[3])
	want := `run prn_1: queued
run prn_1: running
run prn_1: running, 22/40 changes: 20 done, 1 failed, 1 skipped, ETA 9.8s
`
	if got := b.String(); got != want {
		t.Errorf("printed:\n%s\nwant:\n%s", got, want)
	}
	final := provisionSnapshots()[3]
	if got, want := provisionSummary(final), "run prn_1 failed in 16s: 40/40 changes: 36 done, 2 failed, 2 skipped\nReason: 2 of 40 changes failed: Slack refused them"; got != want {
		t.Errorf("provisionSummary: %q; want %q", got, want)
	}
}

// TestApplyBar draws the bar as on a terminal (mpb told to draw on a
// buffer): the run, its status and its progress, redrawn in place.
func TestApplyBar(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	runs := provisionSnapshots()
	v := newApplyBar(&b, runs[0], mpb.WithAutoRefresh(), mpb.WithWidth(160))
	v.now = func() time.Time { return t0.Add(12 * time.Second) }
	v.update(runs[2])
	v.stop(runs[3])
	out := b.String()
	if !strings.Contains(out, "\x1b[") {
		t.Errorf("the bar was not redrawn in place:\n%q", out)
	}
	last := out[strings.LastIndex(out, "\x1b[J")+3:]
	if want := regexp.MustCompile(`(?m)^run prn_1 +failed +\[=+.*\] 40/40 changes: 36 done, 2 failed, 2 skipped$`); !want.MatchString(last) {
		t.Errorf("the last frame does not match %s:\n%s", want, last)
	}
}
