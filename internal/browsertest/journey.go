package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// StepTimeout bounds each step of a journey, so that a step that waits for
// an element that never comes fails with its screenshot, not the whole test
// at its deadline.
const StepTimeout = 60 * time.Second

// A Journey is a person's way through the pages, as named steps in one tab,
// with a full-page screenshot after each step.
type Journey struct {
	// Viewport makes the screenshots of the window only, not the whole
	// page: for a long page whose top shows the point.
	Viewport bool

	t    *testing.T
	tab  *Tab
	name string
	dir  string // this run's screenshots
	keep string // CONNHUB_SCREENSHOTS: where to write them too, or ""
	n    int
}

// NewJourney starts a journey called name (a file-name prefix, e.g.
// "docs"). Its screenshots go to a fresh directory under the system's
// temporary directory, kept after the test and logged, so that CI can
// collect them; with CONNHUB_SCREENSHOTS set they are written there too
// (a relative path is taken from the module root: docs/screenshots).
func NewJourney(t *testing.T, tab *Tab, name string) *Journey {
	t.Helper()
	dir, err := os.MkdirTemp("", "connhub-browsertest-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the %s journey: %s", name, dir)
	j := &Journey{t: t, tab: tab, name: name, dir: dir}
	if keep := os.Getenv("CONNHUB_SCREENSHOTS"); keep != "" {
		if !filepath.IsAbs(keep) {
			keep = filepath.Join(moduleRoot(t), keep)
		}
		if err := os.MkdirAll(keep, 0o755); err != nil {
			t.Fatal(err)
		}
		j.keep = keep
		t.Logf("and in %s", keep)
	}
	return j
}

// Step runs actions as one step of the journey and saves a screenshot of
// the page after them, as <journey>-NN-<step>.png. A step that fails saves
// the page as it was, as …-failed.png, and ends the test.
func (j *Journey) Step(step string, actions ...chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	j.n++
	file := fmt.Sprintf("%s-%02d-%s", j.name, j.n, step)
	ctx, cancel := context.WithTimeout(j.tab.Ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		j.screenshot(file+"-failed", j.dir) // never into CONNHUB_SCREENSHOTS
		text, _ := chromedp.Run(j.tab.Ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		j.t.Fatalf("step %s: %v\npage problems: %v\nthe page's text (first 3000 bytes): %.3000s", file, err, j.tab.Problems(), text)
	}
	j.screenshot(file, j.dir, j.keep)
	if p := j.tab.Problems(); len(p) > 0 {
		j.t.Fatalf("step %s: the page reported errors:\n%s", file, strings.Join(p, "\n"))
	}
}

func (j *Journey) screenshot(file string, dirs ...string) {
	j.t.Helper()
	// Quality 100 makes a PNG; anything less a JPEG.
	shot := chromedp.FullScreenshot(100)
	if j.Viewport {
		shot = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(j.tab.Ctx, shot)
	if err != nil {
		j.t.Errorf("screenshot %s: %v", file, err)
		return
	}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, file+".png"), png, 0o644); err != nil {
			j.t.Errorf("screenshot %s: %v", file, err)
		}
	}
}

// moduleRoot is the directory of the go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

// Fill types value into the input sel over what it held, as a person who
// selects the field's text and types does.
func Fill(sel chromedp.CSS, value string) chromedp.Action[Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(sel),
		chromedp.Focus(sel),
		chromedp.Evaluate[Void](`document.querySelector(`+strconv.Quote(string(sel))+`).select()`),
		chromedp.SendKeys(sel, value),
	)
}

// Read reads the text of sel into s, once it is visible.
func Read(sel chromedp.CSS, s *string) chromedp.Action[Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
		if _, err = chromedp.WaitVisible(sel)(ctx, t); err != nil {
			return err
		}
		*s, err = chromedp.Text(sel)(ctx, t)
		return err
	})
}

// Check is an assertion as a step's action, so that its failure is
// screenshotted like any other.
func Check(f func() error) chromedp.Action[Void] {
	return chromedp.Func(func(context.Context, *chromedp.Target) error { return f() })
}

// Contains is an error unless got contains want.
func Contains(what, got, want string) error {
	if !strings.Contains(got, want) {
		return fmt.Errorf("%s: got %q, want it to contain %q", what, got, want)
	}
	return nil
}
