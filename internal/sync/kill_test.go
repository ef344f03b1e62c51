package sync_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/postgres"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/sync"
)

// The kill test runs a sync in a child process (this test binary again,
// running TestKillChild) and kills it with SIGKILL at random moments, round
// after round, each child resuming the run from the checkpoints the last one
// left. The run must end with exactly the records of an uninterrupted sync
// of the same workspace.

const (
	childEnv   = "CONNHUB_SYNC_KILL_CHILD"
	killWindow = time.Second // the sandbox's rate window: a sync of a few seconds
)

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
			twin := e.Instance
			twin.ID, twin.Name, twin.InstanceToken, twin.InstanceTokenHint = "", "reference", "", ""
			twin.InstanceTokenHash = []byte("reference instance, no token: " + e.Instance.ID)
			twin, err := e.Store.CreateInstance(ctx, twin)
			if err != nil {
				t.Fatal(err)
			}
			hub := *e.Hub
			hub.Instance = twin
			reference := &env{Hub: &hub, svc: e.svc}
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
			env := append(os.Environ(), childEnv+"=1", "KILL_DSN="+e.DSN, "KILL_BACKEND="+backend, "KILL_SLACK="+e.SlackURL,
				"KILL_KEYS="+e.KeysText, "KILL_ORG="+e.Admin.Org.ID, "KILL_RUN="+run.ID)
			killed := 0
			for round := 0; round < c.kills; round++ {
				child := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
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
			final := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
			final.Env = env
			if out, err := final.CombinedOutput(); err != nil {
				t.Fatalf("the last child: %v\n%s", err, out)
			}
			got, err := e.svc.Get(ctx, run.OrgID, run.InstanceID, run.ID)
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

// TestKillChild is the child of the kill test: it works the run it is given
// until the run ends or the parent kills it. Run alone, it does nothing.
func TestKillChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("the kill test's child process")
	}
	keys, err := secrets.ParseKeys(os.Getenv("KILL_KEYS"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secrets.NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store
	if os.Getenv("KILL_BACKEND") == "postgres" {
		st, err = postgres.Open(ctx, os.Getenv("KILL_DSN"), ring)
	} else {
		st, err = sqlite.Open(ctx, os.Getenv("KILL_DSN"), ring)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slackURL := os.Getenv("KILL_SLACK")
	services, err := instance.New(ctx, instance.Options{Store: st, Slack: slack.New(slackURL, &http.Client{Timeout: 30 * time.Second}),
		CallbackURL: "http://127.0.0.1:9/v1/oauth/slack/callback"})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := slackcall.New(slackcall.Options{SlackURL: slackURL, Tokens: services, Pacer: ratelimit.New(ratelimit.Options{Window: killWindow})})
	if err != nil {
		t.Fatal(err)
	}
	// A short lease: the next child takes the run over soon after a kill.
	svc, err := sync.New(sync.Config{Store: st, Caller: caller, LeaseTTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	org, id := os.Getenv("KILL_ORG"), os.Getenv("KILL_RUN")
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
		if err := svc.Execute(ctx, org, id); err != nil {
			t.Fatal(err)
		}
		runs, err := st.GetSyncRun(ctx, org, id)
		if err != nil {
			t.Fatal(err)
		}
		if runs.Status != store.RunQueued && runs.Status != store.RunRunning {
			fmt.Println("the run ended:", runs.Status, runs.Error)
			return
		}
		time.Sleep(50 * time.Millisecond) // the dead child's lease has not lapsed yet
	}
	t.Fatal("the run did not end in five minutes")
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
