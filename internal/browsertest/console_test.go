package browsertest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/connhub/connhub/internal/browsertest"
)

// TestConsoleJourney is seed 000's journey and seed 002's instance card, end
// to end in the browser against `serve --sandbox`: sign in, search the
// catalog for Slack, Authenticate, name the instance, Create Instance, Allow
// on the sandbox's consent page, the success page, "Test in the API docs",
// Authorize, ping through Try it out (200); then Update, Re-Authenticate
// (Allow again), View Token and its pre-authorised API docs (ping 200), and
// Delete with its confirmation.
func TestConsoleJourney(t *testing.T) {
	tab := bt.Browser(t, 5*time.Minute)
	hub := bt.StartHub(t)
	j := bt.NewJourney(t, tab, "console")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	var text string
	j.Step("signin",
		chromedp.Navigate(hub.URL+"/"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), hub.Token),
	)
	j.Step("connectors",
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#connector-search")),
		bt.Read(css("#signed-in-as"), &text),
		bt.Check(func() error {
			if strings.TrimSpace(text) == "" {
				return fmt.Errorf("the console names no one as signed in")
			}
			return nil
		}),
	)
	j.Step("search-slack",
		chromedp.SendKeys(css("#connector-search"), "Slack"),
		chromedp.Click(css("#connector-search-submit")),
		chromedp.WaitVisible(css("#authenticate-slack")),
	)
	name := "Acme Slack"
	j.Step("authenticate",
		chromedp.Click(css("#authenticate-slack")),
		bt.Fill(css("#instance-name"), name),
	)
	j.Step("consent",
		chromedp.Click(css("#create-instance")),
		chromedp.WaitVisible(css("#allow")), // the sandbox's consent page
		bt.Read(css("#app-name"), &text),
		bt.Check(func() error { return bt.Contains("the consent page's app", text, "connhub") }),
	)
	var id string
	j.Step("connected",
		chromedp.Click(css("#allow")),
		bt.Read(css("#result"), &text),
		bt.Check(func() error { return bt.Contains("the callback page", text, "is connected") }),
		bt.Read(css("#instance-id"), &id),
	)
	if !strings.HasPrefix(id, "ins_") {
		t.Fatalf("the success page names the instance %q, want an ins_ ID", id)
	}

	var status, body string
	j.Step("api-docs",
		chromedp.Click(css("#api-docs")),
		chromedp.WaitVisible(bt.Operation("Instances", "ping-instance")),
		bt.Authorize("apiToken", hub.Token),
		bt.Authorized(),
		bt.OpenOperation("Instances", "ping-instance"),
		bt.TryItOut("Instances", "ping-instance"),
	)
	j.Step("api-docs-ping-execute",
		bt.Execute("Instances", "ping-instance", &status, &body),
		bt.Check(func() error {
			if err := bt.Contains("ping's status", status, "200"); err != nil {
				return err
			}
			return bt.Contains("ping's answer", body, `"ok": true`)
		}),
	)

	j.Step("instance",
		chromedp.Navigate(hub.URL+"/instances/"+id),
		bt.Read(css("#status-"+id), &text),
		bt.Check(func() error { return bt.Contains("the instance's status", text, "active") }),
	)
	renamed := "Acme Slack (HR)"
	j.Step("edit",
		chromedp.Click(css("#edit-"+id)),
		bt.Fill(css("#edit-name"), renamed),
	)
	j.Step("updated",
		chromedp.Click(css("#update-instance")),
		chromedp.WaitVisible(css("#flash")),
		bt.Read(css("#instance-"+id+" h1"), &text),
		bt.Check(func() error { return bt.Contains("the instance's name after Update", text, renamed) }),
	)
	j.Step("reauthenticate-consent",
		chromedp.Click(css("#edit-"+id)),
		chromedp.WaitVisible(css("#reauthenticate-instance")),
		chromedp.Click(css("#reauthenticate-instance")),
		chromedp.WaitVisible(css("#allow")),
	)
	j.Step("reauthenticated",
		chromedp.Click(css("#allow")),
		bt.Read(css("#result"), &text),
		bt.Check(func() error { return bt.Contains("the callback page after Re-Authenticate", text, "is connected") }),
		bt.Read(css("#instance-id"), &text),
		bt.Check(func() error {
			if text != id {
				return fmt.Errorf("Re-Authenticate connected %q, want the same instance %q", text, id)
			}
			return nil
		}),
	)

	var token string
	j.Step("view-token",
		chromedp.Navigate(hub.URL+"/instances/"+id),
		chromedp.Click(css("#view-token-"+id)),
		chromedp.WaitVisible(css("#instance-token")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			token, err = chromedp.Value(css("#instance-token"))(ctx, tg)
			return err
		}),
		bt.Check(func() error { return bt.Contains("the instance token", token, "chi_") }),
	)
	j.Step("api-docs-with-token",
		chromedp.Click(css("#api-docs-with-token")),
		chromedp.WaitVisible(bt.Operation("Instances", "ping-instance")),
		bt.Authorized(),
		bt.OpenOperation("Instances", "ping-instance"),
		bt.TryItOut("Instances", "ping-instance"),
		bt.Execute("Instances", "ping-instance", &status, &body),
		bt.Check(func() error { return bt.Contains("ping's status with the instance token", status, "200") }),
	)

	j.Step("delete-confirm",
		chromedp.Navigate(hub.URL+"/instances/"+id),
		chromedp.Click(css("#delete-"+id)),
		bt.Read(css("#delete-consequences"), &text),
		bt.Check(func() error { return bt.Contains("what Delete revokes", text, "instance token") }),
	)
	j.Step("deleted",
		chromedp.Click(css("#confirm-delete")),
		bt.Read(css("#flash"), &text),
		bt.Check(func() error { return bt.Contains("the message after Delete", text, id) }),
	)
	hub.Do(t, http.MethodGet, "/v1/instances/"+id, hub.Token, nil, nil, http.StatusNotFound)
	if strings.Contains(hub.Logs(), token) || strings.Contains(hub.Logs(), hub.Token) {
		t.Error("the hub logged a token")
	}
}
