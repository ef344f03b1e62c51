package cli_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/slacksim"
)

// TestSyncRunOnATerminal: printing to a terminal, `sync run` draws a bar a
// stream, redrawn in place, and ends with the table.
func TestSyncRunOnATerminal(t *testing.T) {
	t.Parallel()
	h := startHub(t, slacksim.Config{})
	id := h.createFromToken(t, "On a terminal")
	master, tty := openPTY(t)
	if err := unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 150}); err != nil {
		t.Skipf("cannot size the pseudo-terminal: %v", err)
	}
	screen := &syncBuffer{}
	go func() { // what the terminal shows
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	// Slow enough to be seen running: the hub saves a run's progress every second.
	h.fault(t, slacksim.Fault{Method: "users.list", LatencyMS: 2500, Count: 1})
	env := h.env(nil)
	var stderr syncBuffer
	code := cli.ExecuteEnv(context.Background(), []string{"sync", "run", id, "--streams", "users", "--poll-interval", "20ms"}, tty, &stderr,
		func(k string) string { return env[k] })
	if code != 0 {
		t.Fatalf("sync run on a terminal: exit %d: %s", code, stderr.String())
	}
	waitFor(t, screen, regexpOf(`connhub: sync \S+ succeeded`))
	out := screen.String()
	if !strings.Contains(out, "\x1b[") {
		t.Errorf("on a terminal sync run did not redraw in place:\n%q", out)
	}
	for _, want := range []string{`users +running +`, `users +done +\[=+\] 3\d records, 1 call`, `(?m)^STREAM +STATE +RECORDS`} {
		if !regexpOf(want).MatchString(out) {
			t.Errorf("the terminal shows:\n%s\nwant %s", out, want)
		}
	}
}
