package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// Chromium returns the browser to run: CONNHUB_CHROMIUM if set, else
// /usr/bin/chromium, else chromium on PATH. Without one it skips the test,
// or fails it when CONNHUB_REQUIRE_BROWSER=1 (CI, where a missing browser is
// a broken machine, not a reason to pass).
func Chromium(t testing.TB) string {
	t.Helper()
	path, where := os.Getenv("CONNHUB_CHROMIUM"), "CONNHUB_CHROMIUM's "
	if path == "" {
		path, where = chromiumPath, ""
		if _, err := os.Stat(path); err != nil {
			if p, err := exec.LookPath("chromium"); err == nil {
				path = p
			}
		}
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	msg := "no Chromium at " + where + path + " (install Debian's: apt-get install -y --no-install-recommends chromium; or set CONNHUB_CHROMIUM)"
	if os.Getenv("CONNHUB_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + "; CONNHUB_REQUIRE_BROWSER=1 makes that a failure")
	}
	t.Skip("browser tests skipped: " + msg)
	return ""
}

// Tab is a browser tab for one test, and what its pages reported.
type Tab struct {
	Ctx context.Context

	mu       sync.Mutex
	problems []string // uncaught exceptions, console errors, CSP refusals
}

// Browser starts headless Chromium with a fresh profile for one test and
// returns a tab in it; both end with the test. Every action in the test
// shares the timeout.
func Browser(t *testing.T, timeout time.Duration) *Tab {
	t.Helper()
	path := Chromium(t)
	// Puppeteer's defaults (no background networking, no sync, no
	// extensions, no default apps…), and what these machines need.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root on these machines: Chromium's sandbox will not start
		chromedp.DisableGPU,
		// The machines' network is closed: without these Chromium keeps
		// calling Google's hosts and logging the refusals.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// Start the browser with a context of no deadline (the browser lives
	// as long as the context of the first call), then bound the test.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	tab := &Tab{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			tab.report(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				tab.report("console.error: " + strings.Join(parts, " "))
			}
		case *log.EventEntryAdded:
			e := ev.Entry
			// A missing favicon is not the page's fault; everything else
			// the browser logs as an error (CSP refusals, failed scripts)
			// is.
			if e.Level == log.EntryLevelError && !strings.Contains(e.URL, "favicon.ico") {
				tab.report(string(e.Source) + ": " + e.Text + " " + e.URL)
			}
		}
	})
	if err == nil {
		_, err = chromedp.Call(ctx, log.Enable, cdp.Empty{})
	}
	if err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelTimeout)
	tab.Ctx = ctx
	return tab
}

func (tab *Tab) report(p string) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	tab.problems = append(tab.problems, p)
}

// Problems returns what the tab's pages reported as errors so far.
func (tab *Tab) Problems() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.problems...)
}

// Expect is the page's reporting of an error the step means to cause, such
// as the browser's "Failed to load resource: the server responded with a
// status of 401" for a page that answers a refusal with its status: it waits
// for a problem that contains every one of parts, and takes it off the
// problems, so that the step does not fail for it. No such problem within
// the step's time fails the step.
func (tab *Tab) Expect(parts ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for {
			if tab.take(parts) {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the page did not report the expected problem %q; it reported %v: %w", parts, tab.Problems(), ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// take removes the first problem that contains all of parts, and says if
// there was one.
func (tab *Tab) take(parts []string) bool {
	tab.mu.Lock()
	defer tab.mu.Unlock()
next:
	for i, p := range tab.problems {
		for _, part := range parts {
			if !strings.Contains(p, part) {
				continue next
			}
		}
		tab.problems = append(tab.problems[:i], tab.problems[i+1:]...)
		return true
	}
	return false
}
