package browsertest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/connhub/connhub/internal/browsertest"
)

// TestConsoleSettingsAndAudit: in the browser, an admin makes a scoped API
// token (shown once, copyable), adds a person, revokes the token, reads the
// audit log filtered to tokens, and checks its hash chain.
func TestConsoleSettingsAndAudit(t *testing.T) {
	tab := bt.Browser(t, 5*time.Minute)
	hub := bt.StartHub(t)
	j := bt.NewJourney(t, tab, "settings")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	var text string
	j.Step("signin",
		chromedp.Navigate(hub.URL+"/"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), hub.Token),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#nav-settings")),
	)
	j.Step("settings",
		chromedp.Click(css("#nav-settings")),
		chromedp.WaitVisible(css("#create-token")),
		chromedp.WaitVisible(css("#create-user")),
	)
	j.Step("token-made",
		bt.Fill(css("#token-name"), "nightly export"),
		chromedp.Click(css("#scope-records\\:read")),
		bt.Fill(css("#token-expires"), "720h"),
		chromedp.Click(css("#create-token")),
		chromedp.WaitVisible(css("#new-secret")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			text, err = chromedp.Value(css("#new-secret"))(ctx, tg)
			return err
		}),
		bt.Check(func() error {
			if !strings.HasPrefix(text, "chub_") {
				return fmt.Errorf("the new token shown is %q, want chub_…", text)
			}
			return nil
		}),
		bt.Read(css("#tokens"), &text),
		bt.Check(func() error { return bt.Contains("the tokens table", text, "records:read") }),
	)
	j.Step("person-added",
		bt.Fill(css("#user-email"), "ada@example.com"),
		bt.Fill(css("#user-name"), "Ada"),
		chromedp.Click(css("#create-user")),
		chromedp.WaitVisible(css("#new-user-secret")),
		bt.Read(css("#people"), &text),
		bt.Check(func() error { return bt.Contains("the people table", text, "ada@example.com") }),
	)
	j.Step("token-revoked",
		chromedp.Click(css("#tokens tbody tr:nth-child(2) button")), // the token made above
		chromedp.WaitVisible(css("#flash")),
		bt.Read(css("#flash"), &text),
		bt.Check(func() error { return bt.Contains("the flash after revoking", text, "revoked") }),
	)
	j.Step("audit",
		chromedp.Navigate(hub.URL+"/audit?action=token."),
		chromedp.WaitVisible(css("#audit-events")),
		bt.Read(css("#audit-events"), &text),
		bt.Check(func() error {
			for _, action := range []string{"token.create", "token.revoke"} {
				if err := bt.Contains("the audit log", text, action); err != nil {
					return err
				}
			}
			return nil
		}),
	)
	j.Step("audit-verified",
		chromedp.Click(css("#verify-audit")),
		chromedp.WaitVisible(css("#audit-verified")),
		bt.Read(css("#audit-verified"), &text),
		bt.Check(func() error { return bt.Contains("the chain check", text, "The log holds") }),
	)
}
