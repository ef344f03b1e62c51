package sync_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/postgres"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/sync"
)

// Some tests and benchmarks run a hub's sync, or a plain slack-go loop, in
// a child process: this test binary again, running TestChild, told what to
// do by its environment. The kill test kills it; the memory benchmark reads
// its peak RSS.

const childEnv = "CONNHUB_SYNC_CHILD" // what the child does: execute, slackgo-users, idle

// childEnviron is the environment of a child that works on e's hub.
func childEnviron(e *env, backend, mode, runID string) []string {
	return append(os.Environ(), childEnv+"="+mode, "CHILD_DSN="+e.DSN, "CHILD_BACKEND="+backend, "CHILD_SLACK="+e.SlackURL,
		"CHILD_KEYS="+e.KeysText, "CHILD_ORG="+e.Admin.Org.ID, "CHILD_RUN="+runID, "CHILD_BOT_TOKEN="+e.Instance.BotToken.Reveal())
}

// TestChild is the child process. Run alone, it does nothing.
func TestChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("the child process of the kill test and the memory benchmark")
	}
	defer reportPeakRSS()
	defer func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Printf("go-memory: sys %d MiB, heap sys %d MiB, heap in use %d MiB, stacks %d MiB, GCs %d\n",
			m.Sys>>20, m.HeapSys>>20, m.HeapInuse>>20, m.StackSys>>20, m.NumGC)
	}()
	switch mode {
	case "idle":
		// What a process that opens the store and does nothing holds.
		st := openChildStore(t)
		st.Close()
	case "slackgo-users":
		// Every user, the way slack-go's users.list helper gives them: all
		// at once.
		api := slackgo.New(os.Getenv("CHILD_BOT_TOKEN"), slackgo.OptionAPIURL(os.Getenv("CHILD_SLACK")+"/api/"))
		users, err := api.GetUsersContext(context.Background(), slackgo.GetUsersOptionLimit(1000))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("users:", len(users))
	case "execute":
		executeInChild(t)
	case "minimal":
		minimalLoader(t)
	default:
		t.Fatalf("%s=%q: no such mode", childEnv, mode)
	}
}

func openChildStore(t *testing.T) store.Store {
	keys, err := secrets.ParseKeys(os.Getenv("CHILD_KEYS"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := secrets.NewKeyring(keys)
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store
	if os.Getenv("CHILD_BACKEND") == "postgres" {
		st, err = postgres.Open(ctx, os.Getenv("CHILD_DSN"), ring)
	} else {
		st, err = sqlite.Open(ctx, os.Getenv("CHILD_DSN"), ring)
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// executeInChild works the run it is given until the run ends (or the
// parent kills it).
func executeInChild(t *testing.T) {
	st := openChildStore(t)
	defer st.Close()
	slackURL := os.Getenv("CHILD_SLACK")
	services, err := instance.New(ctx, instance.Options{Store: st, Slack: slack.New(slackURL, &http.Client{Timeout: 30 * time.Second}),
		CallbackURL: "http://127.0.0.1:9/v1/oauth/slack/callback"})
	if err != nil {
		t.Fatal(err)
	}
	window := killWindow
	if ms, err := strconv.Atoi(os.Getenv("CHILD_WINDOW_MS")); err == nil && ms > 0 {
		window = time.Duration(ms) * time.Millisecond
	}
	if path := os.Getenv("CHILD_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if path := os.Getenv("CHILD_HEAPPROFILE"); path != "" {
		// The heap at its largest in use, sampled every 200 ms.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			var most uint64
			for {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > most {
					most = m.HeapInuse
					if f, err := os.Create(path); err == nil {
						pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
				}
			}
		}()
	}
	caller, err := slackcall.New(slackcall.Options{SlackURL: slackURL, Tokens: services, Pacer: ratelimit.New(ratelimit.Options{Window: window})})
	if err != nil {
		t.Fatal(err)
	}
	// A short lease: the next child takes the run over soon after a kill.
	svc, err := sync.New(sync.Config{Store: st, Caller: caller, LeaseTTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	org, id := os.Getenv("CHILD_ORG"), os.Getenv("CHILD_RUN")
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
		if err := svc.Execute(ctx, org, id); err != nil {
			t.Fatal(err)
		}
		run, err := st.GetSyncRun(ctx, org, id)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != store.RunQueued && run.Status != store.RunRunning {
			fmt.Println("the run ended:", run.Status, run.Error)
			return
		}
		time.Sleep(50 * time.Millisecond) // the dead child's lease has not lapsed yet
	}
	t.Fatal("the run did not end in five minutes")
}

// reportPeakRSS prints the process's peak resident set (Linux's VmHWM) for
// the parent to read. The parent cannot take it from the child's rusage:
// Linux counts there the parent's memory too, which a child shares between
// fork and exec.
func reportPeakRSS() {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Println(peakRSSLabel, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
		if strings.HasPrefix(line, "Rss") {
			fmt.Println("at-end:", strings.Join(strings.Fields(line), " "))
		}
	}
}

const peakRSSLabel = "peak-rss-kib:"
