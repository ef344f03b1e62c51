package browsertest_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	bt "github.com/connhub/connhub/internal/browsertest"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/tenant"
)

// stackTrace matches what a Go stack trace or panic puts on a page.
var stackTrace = regexp.MustCompile(`goroutine \d+|panic:|runtime error|\.go:\d+`)

// noStackTrace is an error if the page's text looks like a Go stack trace or
// panic rather than a message for a person.
func noStackTrace(what, text string) error {
	if m := stackTrace.FindString(text); m != "" {
		return fmt.Errorf("%s shows %q, a stack trace or panic, in %q", what, m, text)
	}
	return nil
}

// pageHTML reads the whole page's HTML into s.
func pageHTML(s *string) chromedp.Action[bt.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
		*s, err = chromedp.Evaluate[string](`document.documentElement.outerHTML`)(ctx, t)
		return err
	})
}

// TestConsoleBadSignInAndConsent is issue 7's bad input at sign-in and at
// consent, in the browser against `serve --sandbox`: a wrong API token shows
// a readable sign-in error (no stack trace, the token not echoed back) and
// the right one then signs in; Cancel on the sandbox's consent page shows
// the reason on the callback page with a way to retry, and that way
// (Re-Authenticate, Allow) connects the instance.
func TestConsoleBadSignInAndConsent(t *testing.T) {
	tab := bt.Browser(t, 5*time.Minute)
	hub := bt.StartHub(t)
	j := bt.NewJourney(t, tab, "console-bad")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// A token that looks right (chub_…) but is no one's.
	wrong, err := secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var text, html, location string
	j.Step("signin-wrong-token",
		chromedp.Navigate(hub.URL+"/"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), wrong),
		chromedp.Click(css("#signin")),
		// The sign-in page comes back with 401, which the browser reports.
		tab.Expect("status of 401", hub.URL+"/signin"),
		bt.Read(css("#error"), &text),
		bt.Check(func() error {
			if err := bt.Contains("the sign-in error", text, "not valid"); err != nil {
				return err
			}
			return noStackTrace("the sign-in error", text)
		}),
		// Still the sign-in page, with the form to try again, empty.
		chromedp.WaitVisible(css("#token")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			text, err = chromedp.Value(css("#token"))(ctx, tg)
			return err
		}),
		bt.Check(func() error {
			if text != "" {
				return fmt.Errorf("the token field after a wrong token holds %q, want it empty", text)
			}
			return nil
		}),
		pageHTML(&html),
		bt.Check(func() error {
			if strings.Contains(html, wrong) {
				return fmt.Errorf("the sign-in page echoes the wrong token back")
			}
			return noStackTrace("the sign-in page", html)
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			location, err = chromedp.Location()(ctx, tg)
			return err
		}),
		bt.Check(func() error { return bt.Contains("the page after a wrong token", location, "/signin") }),
	)
	j.Step("signin-right-token",
		chromedp.SendKeys(css("#token"), hub.Token),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#connector-search")),
		chromedp.WaitNotPresent(css("#error")),
		bt.Read(css("#signed-in-as"), &text),
		bt.Check(func() error {
			if strings.TrimSpace(text) == "" {
				return fmt.Errorf("the console names no one as signed in")
			}
			return nil
		}),
	)

	name := "Acme Slack (denied)"
	j.Step("authenticate",
		chromedp.Navigate(hub.URL+"/connectors/slack/authenticate"),
		bt.Fill(css("#instance-name"), name),
	)
	j.Step("consent",
		chromedp.Click(css("#create-instance")),
		chromedp.WaitVisible(css("#cancel")), // the sandbox's consent page
		chromedp.WaitVisible(css("#allow")),
	)
	var id, code string
	j.Step("consent-denied",
		chromedp.Click(css("#cancel")),
		// The callback's page of a failure comes with 400.
		tab.Expect("status of 400", hub.URL+"/v1/oauth/slack/callback"),
		bt.Read(css("#result"), &text),
		bt.Check(func() error { return bt.Contains("the callback page after Cancel", text, "not connected") }),
		bt.Read(css("#error-code"), &code),
		bt.Check(func() error {
			if code != "access_denied" {
				return fmt.Errorf("the callback page's reason code is %q, want access_denied", code)
			}
			return nil
		}),
		bt.Read(css("#error-message"), &text),
		bt.Check(func() error {
			if err := bt.Contains("the callback page's reason", text, "refused"); err != nil {
				return err
			}
			return noStackTrace("the callback page's reason", text)
		}),
		bt.Read(css("#instance-id"), &id),
		bt.Read(css("#instance-status"), &text),
		bt.Check(func() error { return bt.Contains("the instance's status after Cancel", text, "failed") }),
		chromedp.WaitVisible(css("#retry")),
	)
	if !strings.HasPrefix(id, "ins_") {
		t.Fatalf("the failure page names the instance %q, want an ins_ ID", id)
	}
	var got struct {
		Status string `json:"status"`
	}
	hub.Do(t, http.MethodGet, "/v1/instances/"+id, hub.Token, nil, &got, http.StatusOK)
	if got.Status != "failed" {
		t.Fatalf("instance %s after Cancel: status %q, want failed", id, got.Status)
	}

	j.Step("retry",
		chromedp.Click(css("#retry")),
		chromedp.WaitVisible(css("#reauthenticate-instance")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			location, err = chromedp.Location()(ctx, tg)
			return err
		}),
		bt.Check(func() error { return bt.Contains("where Retry goes", location, "/instances/"+id+"/edit") }),
	)
	j.Step("retry-consent",
		chromedp.Click(css("#reauthenticate-instance")),
		chromedp.WaitVisible(css("#allow")),
	)
	j.Step("retry-connected",
		chromedp.Click(css("#allow")),
		bt.Read(css("#result"), &text),
		bt.Check(func() error { return bt.Contains("the callback page after retrying", text, "is connected") }),
		bt.Read(css("#instance-id"), &text),
		bt.Check(func() error {
			if text != id {
				return fmt.Errorf("retrying connected %q, want the same instance %q", text, id)
			}
			return nil
		}),
	)
	j.Step("retry-instance",
		chromedp.Click(css("#console-instance")),
		bt.Read(css("#status-"+id), &text),
		bt.Check(func() error { return bt.Contains("the instance's status after retrying", text, "active") }),
	)
	hub.Do(t, http.MethodGet, "/v1/instances/"+id, hub.Token, nil, &got, http.StatusOK)
	if got.Status != "active" {
		t.Fatalf("instance %s after retrying: status %q, want active", id, got.Status)
	}
	if logs := hub.Logs(); strings.Contains(logs, wrong) || strings.Contains(logs, hub.Token) {
		t.Error("the hub logged a token")
	}
}

// TestConsoleDeleteCancelAndKeyboard is issue 7's confirmation of Delete,
// reached from the keyboard: on the instances page Tab moves the focus
// through the instance's actions (Ping, View Token, API Docs, Edit,
// Delete), Enter on Delete opens the confirmation, which says what will be
// revoked, and Cancel there leaves the instance as it was.
func TestConsoleDeleteCancelAndKeyboard(t *testing.T) {
	tab := bt.Browser(t, 5*time.Minute)
	hub := bt.StartHub(t)
	in := hub.Install(t, "Acme Slack (kept)")
	j := bt.NewJourney(t, tab, "console-bad-delete")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	j.Step("signin",
		chromedp.Navigate(hub.URL+"/instances"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), hub.Token),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#instance-"+in.ID)),
	)

	// Tab from the top of the page until the focus reaches the instance's
	// Delete, noting every control it lands on.
	var visited []string
	want := []string{"ping-" + in.ID, "view-token-" + in.ID, "api-docs-" + in.ID, "edit-" + in.ID, "delete-" + in.ID}
	j.Step("keyboard-tab-to-delete",
		chromedp.Evaluate[bt.Void](`document.activeElement && document.activeElement.blur(); window.focus()`),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for range 40 {
				if _, err := chromedp.KeyEvent(kb.Tab)(ctx, tg); err != nil {
					return err
				}
				focus, err := chromedp.Evaluate[string](`(() => { const e = document.activeElement;
					return e && e !== document.body && /^(A|BUTTON)$/.test(e.tagName) && e.id ? e.id : "(" + (e ? e.tagName : "none") + ")" })()`)(ctx, tg)
				if err != nil {
					return err
				}
				visited = append(visited, focus)
				if focus == "delete-"+in.ID {
					return nil
				}
			}
			return fmt.Errorf("40 Tabs did not reach #delete-%s; the focus went through %v", in.ID, visited)
		}),
		bt.Check(func() error {
			at := 0
			for _, v := range visited {
				if at < len(want) && v == want[at] {
					at++
				}
			}
			if at < len(want) {
				return fmt.Errorf("Tab did not reach #%s in order; the focus went through %v", want[at], visited)
			}
			return nil
		}),
		// A person sees where the focus is: :focus-visible draws an outline.
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			ring, err := chromedp.Evaluate[string](`(() => { const e = document.activeElement;
				return e.matches(":focus-visible") + " " + getComputedStyle(e).outlineStyle })()`)(ctx, tg)
			if err != nil {
				return err
			}
			if ring != "true solid" {
				return fmt.Errorf("the focused Delete: :focus-visible and outline style are %q, want a visible ring (\"true solid\")", ring)
			}
			return nil
		}),
	)
	t.Logf("Tab order on the instances page: %v", visited)

	var text string
	j.Step("keyboard-delete-confirm",
		chromedp.KeyEvent(kb.Enter),
		bt.Read(css("#delete-consequences"), &text),
		bt.Check(func() error {
			for _, w := range []string{"Slack tokens", "auth.revoke", "instance token", "credentials", "synced records"} {
				if err := bt.Contains("what Delete revokes", text, w); err != nil {
					return err
				}
			}
			return nil
		}),
		bt.Read(css("#delete-instance-id"), &text),
		bt.Check(func() error {
			if text != in.ID {
				return fmt.Errorf("the confirmation names %q, want %q", text, in.ID)
			}
			return nil
		}),
		chromedp.WaitVisible(css("#confirm-delete")),
		chromedp.WaitVisible(css("#cancel-delete")),
	)
	j.Step("delete-cancelled",
		chromedp.Click(css("#cancel-delete")),
		bt.Read(css("#status-"+in.ID), &text),
		bt.Check(func() error { return bt.Contains("the instance's status after Cancel", text, "active") }),
		chromedp.WaitNotPresent(css("#delete-consequences")),
	)
	var got struct {
		Status string `json:"status"`
	}
	hub.Do(t, http.MethodGet, "/v1/instances/"+in.ID, hub.Token, nil, &got, http.StatusOK)
	if got.Status != "active" {
		t.Fatalf("instance %s after Cancel on Delete: status %q, want active", in.ID, got.Status)
	}
	// Its instance token still works: nothing was revoked.
	hub.Do(t, http.MethodGet, "/v1/instances/"+in.ID+"/ping", in.Token, nil, nil, http.StatusOK)
}
