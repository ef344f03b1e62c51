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

// TestConsoleEventsLive: on the console's Events page, an event the
// sandbox sends after the page loaded appears at the top of the list
// without a reload (the page's EventSource), with its type, status and
// instance, and its envelope opens in a details element.
func TestConsoleEventsLive(t *testing.T) {
	tab := bt.Browser(t, 5*time.Minute)
	hub := bt.StartHub(t)
	inst := hub.Install(t, "Acme Slack")
	j := bt.NewJourney(t, tab, "events")
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	j.Step("signin",
		chromedp.Navigate(hub.URL+"/"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), hub.Token),
		chromedp.Click(css("#signin")),
		chromedp.WaitVisible(css("#nav-events")),
	)
	var marker string
	j.Step("events",
		chromedp.Click(css("#nav-events")),
		chromedp.WaitVisible(css(`#events-live[data-state="live"]`)),
		// Kept by the page for as long as it is not reloaded.
		chromedp.Evaluate[bt.Void](`window.connhubMarker = "the page was not reloaded"`),
	)
	// The sandbox's control sends an event, as Slack would.
	var sent struct {
		EventIDs []string `json:"event_ids"`
	}
	hub.DoSandbox(t, http.MethodPost, "/_sandbox/events", map[string]any{"event": map[string]any{"type": "channel_created",
		"channel": map[string]any{"id": "C0BROWSER1", "name": "live-in-the-browser"}}}, &sent, http.StatusAccepted)
	if len(sent.EventIDs) != 1 {
		t.Fatalf("the sandbox sent %v", sent.EventIDs)
	}
	var row string
	j.Step("live-event",
		chromedp.WaitVisible(css("#events-body tr.new")),
		bt.Read(css("#events-body tr.new"), &row),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) (err error) {
			marker, err = chromedp.Evaluate[string](`String(window.connhubMarker)`)(ctx, tg)
			return err
		}),
		bt.Check(func() error {
			for _, want := range []string{sent.EventIDs[0], "channel_created", "processed", inst.Name} {
				if err := bt.Contains("the new row", row, want); err != nil {
					return err
				}
			}
			if marker != "the page was not reloaded" {
				return fmt.Errorf("the page was reloaded to show the event (its marker is %q)", marker)
			}
			return nil
		}),
	)
	var envelope string
	j.Step("envelope",
		chromedp.Click(css("#events-body tr.new summary")),
		bt.Read(css("#events-body tr.new pre"), &envelope),
		bt.Check(func() error {
			if !strings.Contains(envelope, `"live-in-the-browser"`) || !strings.Contains(envelope, `"event_callback"`) {
				return fmt.Errorf("the envelope shown: %q", envelope)
			}
			return nil
		}),
	)
}
