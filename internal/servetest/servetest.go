// Package servetest runs `connhub serve` in-process for tests, exactly as
// the command runs (flags, environment, stdout and stderr), on a free port,
// and says where it serves. The CLI's, the SDK's and the browser tests share
// it.
package servetest

import (
	"bufio"
	"context"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/cli"
)

// Hub is a running `connhub serve`.
type Hub struct {
	URL      string  // where it serves
	SlackURL string  // the sandbox's URL, with --sandbox
	APIToken string  // the admin's API token, when this start created the admin and printed it
	Logs     *Buffer // what it logged

	stop     context.CancelFunc
	done     chan int
	stopOnce sync.Once
	code     int
}

// Stop ends serve as a signal does (its context ends) and waits, a bounded
// while, for it to return; it gives serve's exit code. The test's end
// calls it too.
func (h *Hub) Stop(t testing.TB) int {
	t.Helper()
	h.stopOnce.Do(func() {
		h.stop()
		select {
		case h.code = <-h.done:
		case <-time.After(30 * time.Second):
			h.code = -1
			t.Error("connhub serve did not stop within 30s of its context's end")
		}
	})
	return h.code
}

var (
	servingLine  = regexp.MustCompile(`^connhub: serving on (https?://\S+)`)
	sandboxLine  = regexp.MustCompile(`^connhub: Slack is the sandbox at (http://\S+)`)
	apiTokenLine = regexp.MustCompile(`API token: +(chub_\S+)`)
)

// Start runs `connhub serve` with args (and --addr 127.0.0.1:0) in env,
// which is the whole environment it sees, until t ends. It returns once the
// hub says where it serves (and, with --sandbox, where the sandbox does).
func Start(t testing.TB, args []string, env map[string]string) *Hub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	h := &Hub{Logs: &Buffer{}, stop: cancel, done: done}
	pr, pw := io.Pipe()
	go func() {
		code := cli.ExecuteEnv(ctx, append(append([]string{"serve"}, args...), "--addr", "127.0.0.1:0"), pw, h.Logs,
			func(k string) string { return env[k] })
		pw.Close()
		done <- code
	}()
	t.Cleanup(func() { h.Stop(t) })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	withSandbox := slices.Contains(args, "--sandbox")
	deadline := time.After(60 * time.Second)
	for h.URL == "" || (withSandbox && h.SlackURL == "") {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("connhub serve ended before serving: exit %d; logs:\n%s", h.Stop(t), h.Logs)
			}
			if m := apiTokenLine.FindStringSubmatch(line); m != nil {
				h.APIToken = m[1]
			}
			if m := servingLine.FindStringSubmatch(line); m != nil {
				h.URL = m[1]
			}
			if m := sandboxLine.FindStringSubmatch(line); m != nil {
				h.SlackURL = m[1]
			}
		case <-deadline:
			t.Fatalf("connhub serve did not say where it serves within 60s; logs:\n%s", h.Logs)
		}
	}
	go func() { // nothing more that serve prints matters; keep its pipe flowing
		for range lines {
		}
	}()
	return h
}

// Buffer collects output, safe for a writer and readers at once.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
