package cli_test

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/connhub/connhub/internal/cli"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/pkg/connhub"
)

// openPTY opens a pseudo-terminal: the test types into master, the command
// reads the terminal, tty.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("cannot unlock the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("no pseudo-terminal number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("cannot open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// TestTerminalPrompts types at a real (pseudo-)terminal: secrets are asked
// for with echo off, and a delete asks for confirmation. Not parallel: it
// sets the prompts' stdin.
func TestTerminalPrompts(t *testing.T) {
	h := startHub(t, slacksim.Config{})
	master, tty := openPTY(t)
	defer cli.SetStdin(tty)()
	echoed := &syncBuffer{}
	go func() { // what the terminal shows
		buf := make([]byte, 256)
		for {
			n, err := master.Read(buf)
			echoed.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	typeLine := func(s string) {
		if _, err := master.Write([]byte(s + "\n")); err != nil {
			t.Fatal(err)
		}
	}

	const secret = "feedfacefeedfacefeedface00000000"
	b := start(t, h.env(nil), "apps", "create", "--client-id", "5555.6666")
	waitFor(t, b.stderr, regexpOf(`client secret \(input hidden; or set CONNHUB_SLACK_CLIENT_SECRET\): $`))
	typeLine(secret)
	waitFor(t, b.stderr, regexpOf(`signing secret .*Enter to leave it out.*: $`))
	typeLine("")
	if code := b.wait(t); code != 0 {
		t.Fatalf("apps create at a terminal: exit %d: %s", code, b.stderr)
	}
	apps := cliJSON[[]connhub.App](t, h, "apps", "list")
	if len(apps) != 2 || !apps[1].HasClientSecret || apps[1].HasSigningSecret {
		t.Errorf("apps after the prompts: %+v; want the new app with a client secret and no signing secret", apps)
	}
	if strings.Contains(echoed.String(), secret) {
		t.Error("the terminal echoed the secret typed")
	}
	if tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Errorf("echo is not back on after the prompt (%v)", err)
	}

	id := h.createFromToken(t, "Asked about")
	for _, tc := range []struct {
		answer string
		code   int
		says   string
	}{{"n", 1, "was not deleted"}, {"", 1, "was not deleted"}, {"yes", 0, "deleted instance " + id}} {
		b := start(t, h.env(nil), "instances", "delete", id)
		waitFor(t, b.stderr, regexpOf(`Delete instance `+id+` \(Asked about\) for good\?.* \[y/N\] $`))
		typeLine(tc.answer)
		if code := b.wait(t); code != tc.code || !strings.Contains(b.stdout.String()+b.stderr.String(), tc.says) {
			t.Errorf("answering %q: exit %d, printed %q and %q; want exit %d saying %q", tc.answer, code, b.stdout, b.stderr, tc.code, tc.says)
		}
	}
}
