package sync_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

// The kill test runs a sync in a child process (this test binary again,
// running TestChild) and kills it with SIGKILL at random moments, round
// after round, each child resuming the run from the checkpoints the last one
// left. The run must end with exactly the records of an uninterrupted sync
// of the same workspace.

const killWindow = time.Second // the sandbox's rate window: a sync of a few seconds

var killCfg = slacksim.Config{Users: 1200, Channels: 400, RateLimits: true, RateWindow: killWindow}

func TestAKilledSyncResumesToExactlyTheDataOfAnUninterruptedOne(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes for half a minute")
	}
	for _, c := range []struct {
		name     string
		postgres bool
		kills    int
	}{{"sqlite", false, 8}, {"postgres", true, 5}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// The uninterrupted sync is of a second instance with the same
			// tokens, on the same sandbox: the same data to the byte.
			e := setup(t, hubtest.Options{Sandbox: killCfg, Postgres: c.postgres}, sync.Config{})
			reference := e.twin(t)
			want := reference.run(t, sync.StartInput{})
			if want.Status != store.RunSucceeded {
				t.Fatalf("the uninterrupted run %s: %s", want.Status, want.Error)
			}

			run, err := e.svc.Start(ctx, e.Admin, e.Instance.ID, sync.StartInput{})
			if err != nil {
				t.Fatal(err)
			}
			backend := "sqlite"
			if c.postgres {
				backend = "postgres"
			}
			env := childEnviron(e, backend, "execute", run.ID)
			killed := 0
			for round := 0; round < c.kills; round++ {
				child := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
				child.Env = env
				var out strings.Builder
				child.Stdout, child.Stderr = &out, &out
				if err := child.Start(); err != nil {
					t.Fatal(err)
				}
				exited := make(chan error, 1)
				go func() { exited <- child.Wait() }()
				select {
				case err := <-exited:
					// It finished before its kill: the rounds are over.
					if err != nil {
						t.Fatalf("round %d: the child failed: %v\n%s", round, err, out.String())
					}
					round = c.kills
				case <-time.After(100*time.Millisecond + rand.N(1200*time.Millisecond)):
					child.Process.Kill()
					<-exited
					killed++
				}
			}
			if killed < c.kills/2 {
				t.Errorf("only %d of %d children were killed before the run ended: the sync is too short to test", killed, c.kills)
			}
			// The last child works the run to its end.
			final := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.count=1")
			final.Env = env
			if out, err := final.CombinedOutput(); err != nil {
				t.Fatalf("the last child: %v\n%s", err, out)
			}
			got, err := e.svc.Get(ctx, e.Admin, run.InstanceID, run.ID)
			if err != nil || got.Status != store.RunSucceeded {
				t.Fatalf("after %d kills the run is %s: %s %v; %s", killed, got.Status, got.Error, err, states(got))
			}
			for _, name := range got.Streams {
				a, b := dataOf(e.records(t, name)), dataOf(reference.records(t, name))
				if a != b {
					t.Errorf("%s after %d kills: %d bytes of records, an uninterrupted sync %d; first difference:\n%s", name, killed, len(a), len(b), firstDiff(a, b))
				}
			}
			t.Logf("%s: %d kills, then the same records as an uninterrupted sync", c.name, killed)
		})
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return "  got:  " + al[i] + "\n  want: " + bl[i]
		}
	}
	return fmt.Sprintf("  %d lines against %d", len(al), len(bl))
}
