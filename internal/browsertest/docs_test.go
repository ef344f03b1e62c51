package browsertest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	bt "github.com/connhub/connhub/internal/browsertest"
)

// TestDocsJourney is the API reference as the console hands it over:
// /docs?instance=ID#token=chi_… opens with the instance preselected and the
// token preauthorised; ping and a proxied auth.test answer 200 through Try
// it out. Then the Authorize dialog by hand, with the admin's API token, for
// users.list through the instance's Slack route.
func TestDocsJourney(t *testing.T) {
	tab := bt.Browser(t, 3*time.Minute)
	hub := bt.StartHub(t)
	in := hub.Install(t, "docs journey")
	j := bt.NewJourney(t, tab, "docs")

	var href string
	j.Step("open-preauthorized",
		chromedp.Navigate(hub.URL+"/docs?instance="+in.ID+"#token="+in.Token),
		chromedp.WaitVisible(bt.Operation("Instances", "ping-instance")),
		bt.Authorized(),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
			href, err = chromedp.Location()(ctx, t)
			return err
		}),
		bt.Check(func() error {
			if strings.Contains(href, "token") || strings.Contains(href, in.Token) {
				return fmt.Errorf("the address bar still holds the token: %s", href)
			}
			return nil
		}),
	)

	var id, status, body string
	j.Step("ping-try-it-out",
		bt.OpenOperation("Instances", "ping-instance"),
		bt.TryItOut("Instances", "ping-instance"),
		bt.ParamValue("Instances", "ping-instance", "id", &id),
		bt.Check(func() error {
			if id != in.ID {
				return fmt.Errorf("ping's id: got %q, want the instance %q preselected", id, in.ID)
			}
			return nil
		}),
	)
	j.Step("ping-execute",
		bt.Execute("Instances", "ping-instance", &status, &body),
		bt.Check(func() error {
			if err := bt.Contains("ping's status", status, "200"); err != nil {
				return err
			}
			return bt.Contains("ping's answer", body, `"ok": true`)
		}),
	)

	j.Step("auth-test-execute",
		bt.OpenOperation("Slack", "slack-get"),
		bt.TryItOut("Slack", "slack-get"),
		bt.SetParam("Slack", "slack-get", "method", "auth.test"),
		bt.Execute("Slack", "slack-get", &status, &body),
		bt.Check(func() error {
			if err := bt.Contains("auth.test's status", status, "200"); err != nil {
				return err
			}
			if err := bt.Contains("auth.test's answer", body, `"ok": true`); err != nil {
				return err
			}
			return bt.Contains("auth.test's answer", body, `"bot_id"`)
		}),
	)

	// A person without the console: the page alone, the API token typed
	// into the Authorize dialog.
	j.Step("authorize-api-token",
		chromedp.Navigate(hub.URL+"/docs?instance="+in.ID),
		chromedp.WaitVisible(bt.Operation("Slack", "instance-slack-get")),
		bt.Authorize("apiToken", hub.Token),
		bt.Authorized(),
	)
	j.Step("users-list-execute",
		bt.OpenOperation("Slack", "instance-slack-get"),
		bt.TryItOut("Slack", "instance-slack-get"),
		bt.ParamValue("Slack", "instance-slack-get", "id", &id),
		bt.Check(func() error {
			if id != in.ID {
				return fmt.Errorf("instance-slack-get's id: got %q, want %q", id, in.ID)
			}
			return nil
		}),
		bt.SetParam("Slack", "instance-slack-get", "method", "users.list"),
		bt.Execute("Slack", "instance-slack-get", &status, &body),
		bt.Check(func() error {
			if err := bt.Contains("users.list's status", status, "200"); err != nil {
				return err
			}
			return bt.Contains("users.list's answer", body, `"members"`)
		}),
	)

	// The fragment never reaches the server, and Try it out's header is not
	// logged.
	logs := hub.Logs()
	for name, secret := range map[string]string{"instance token": in.Token, "API token": hub.Token} {
		if strings.Contains(logs, secret) {
			t.Errorf("the hub logged the %s", name)
		}
	}
}

// TestDocsWithoutJavaScript: with scripts off the page still lists the
// operations (the <noscript> fallback).
func TestDocsWithoutJavaScript(t *testing.T) {
	tab := bt.Browser(t, 2*time.Minute)
	hub := bt.StartHub(t)
	j := bt.NewJourney(t, tab, "docs-nojs")
	j.Viewport = true
	var text string
	j.Step("list",
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.Navigate(hub.URL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS("#ping-instance")),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
			text, err = chromedp.Text(chromedp.CSS("#ping-instance"))(ctx, t)
			return err
		}),
		bt.Check(func() error { return bt.Contains("the ping entry", text, "GET /v1/instances/{id}/ping") }),
	)
}
