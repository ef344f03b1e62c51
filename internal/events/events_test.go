package events_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

var ctx = context.Background()

// served is a hub running as serve runs it, with the sandbox's app's
// events sent to its one Request URL.
func served(t *testing.T) *hubtest.Hub {
	t.Helper()
	h := hubtest.Start(t, hubtest.Options{Serve: true, Sandbox: slacksim.Config{Users: 20, Channels: 3}})
	st, err := h.Sandbox.SetEventSubscription(ctx, slacksim.EventSubscription{RequestURL: h.URL + "/v1/events/slack",
		BotEvents: []string{"user_change", "team_join", "app_uninstalled", "tokens_revoked", "channel_created"}})
	if err != nil {
		t.Fatalf("the sandbox's url_verification of the hub's receiver: %v (%+v)", err, st)
	}
	return h
}

// eventually waits for cond as hubtest.Eventually does.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	hubtest.Eventually(t, what, cond)
}

// syncUsers syncs the users stream to its end through the hub's queue.
func syncUsers(t *testing.T, h *hubtest.Hub) {
	t.Helper()
	r, err := h.Hub.Syncs.Start(ctx, h.Admin, h.Instance.ID, sync.StartInput{Streams: []string{"users"}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		changed := h.Hub.Syncs.Changes()
		if r, err = h.Hub.Syncs.Get(ctx, h.Admin, h.Instance.ID, r.ID); err != nil {
			t.Fatal(err)
		}
		if r.Status == store.RunSucceeded {
			return
		}
		if r.Status == store.RunFailed || r.Status == store.RunCanceled {
			t.Fatalf("the users sync: %s %s", r.Status, r.Error)
		}
		<-changed
	}
}

func patchSandbox(t *testing.T, h *hubtest.Hub, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, h.SlackURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH %s: %d", path, resp.StatusCode)
	}
}

// TestARenameInSlackReachesTheUsersRecordsWithoutASync: a user renamed in
// the sandbox is sent to the hub as Slack sends user_change, verified,
// kept, processed on the queue and written into the users records, marked
// with the event that changed it.
func TestARenameInSlackReachesTheUsersRecordsWithoutASync(t *testing.T) {
	t.Parallel()
	h := served(t)
	syncUsers(t, h)
	recs, _, err := h.Store.ListRecords(ctx, h.Admin.Org.ID, h.Instance.ID, "users", store.RecordFilter{}, store.Page{Limit: 100})
	if err != nil || len(recs) == 0 {
		t.Fatalf("users after the sync: %d (%v)", len(recs), err)
	}
	var target string
	for _, r := range recs {
		var u struct {
			IsBot bool `json:"is_bot"`
		}
		json.Unmarshal(r.Data, &u)
		if !u.IsBot && r.Key != "USLACKBOT" {
			target = r.Key
			break
		}
	}
	patchSandbox(t, h, "/_sandbox/users/"+target, `{"real_name": "Renamed By An Event"}`)
	var rec store.Record
	eventually(t, "the rename in the users records", func() bool {
		rec, err = h.Store.GetRecord(ctx, h.Admin.Org.ID, h.Instance.ID, "users", target)
		return err == nil && bytes.Contains(rec.Data, []byte("Renamed By An Event"))
	})
	if !strings.HasPrefix(rec.SeenRunID, "evt_") {
		t.Fatalf("the record changed by the event is marked seen by %q, want the event (evt_…)", rec.SeenRunID)
	}
	e, err := h.Store.GetSlackEvent(ctx, h.Admin.Org.ID, rec.SeenRunID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != "user_change" || !strings.HasPrefix(e.EventID, "Ev") || len(e.InstanceIDs) != 1 || e.InstanceIDs[0] != h.Instance.ID {
		t.Errorf("the kept event: %+v", e)
	}
	eventually(t, "the event marked processed", func() bool {
		e, err = h.Store.GetSlackEvent(ctx, h.Admin.Org.ID, rec.SeenRunID)
		return err == nil && e.Status == store.SlackEventProcessed
	})
	if bytes.Contains(e.Body, []byte(`"token"`)) {
		t.Error("the kept body still holds the verification token")
	}
	app, err := h.Store.GetApp(ctx, h.Admin.Org.ID, h.Instance.AppID)
	if err != nil || app.SlackAppID == "" {
		t.Errorf("the app does not know its Slack app ID after an install and an event: %q (%v)", app.SlackAppID, err)
	}
	listed, _, err := h.Hub.Events.List(ctx, h.Admin, h.Instance.ID, store.SlackEventFilter{Types: []string{"user_change"}}, store.Page{})
	if err != nil || len(listed) != 1 || listed[0].ID != e.ID {
		t.Errorf("the instance's user_change events: %d (%v), want the one", len(listed), err)
	}
}

// TestAnUninstallMarksTheInstanceRevoked: Slack's app_uninstalled marks
// the instance revoked, saying why, and the audit log has it.
func TestAnUninstallMarksTheInstanceRevoked(t *testing.T) {
	t.Parallel()
	h := served(t)
	if _, err := h.Sandbox.Uninstall(h.Instance.TeamID, false); err != nil {
		t.Fatal(err)
	}
	var in store.Instance
	eventually(t, "the instance revoked", func() bool {
		var err error
		in, err = h.Store.GetInstance(ctx, h.Admin.Org.ID, h.Instance.ID)
		return err == nil && in.Status == store.StatusRevoked
	})
	// Slack sends tokens_revoked with app_uninstalled: either may be
	// processed first, and says why.
	if !strings.Contains(in.StatusReason, "app_uninstalled") && !strings.Contains(in.StatusReason, "tokens_revoked") {
		t.Errorf("the reason: %q", in.StatusReason)
	}
	evs, _, err := h.Store.ListAudit(ctx, h.Admin.Org.ID, store.AuditFilter{Action: "instance.revoked_by_slack"}, store.Page{Limit: 10})
	if err != nil || len(evs) == 0 || evs[0].TargetID != h.Instance.ID {
		t.Errorf("the audit log of the revocation: %+v (%v)", evs, err)
	}
}

// deliver posts body to the hub's receiver, signed with secret at at (no
// signature when secret is empty), and returns the status and answer.
func deliver(t *testing.T, h *hubtest.Hub, body []byte, secret string, at time.Time) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/events/slack", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		ts := strconv.FormatInt(at.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("v0:" + ts + ":"))
		mac.Write(body)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBadDeliveriesAreRefusedWithAStableCode: each bad delivery is a 4xx
// with its code, nothing is kept, and the log has no body; a delivery Slack
// makes again is counted once.
func TestBadDeliveriesAreRefusedWithAStableCode(t *testing.T) {
	t.Parallel()
	h := served(t)
	secret := h.Info.SigningSecret
	app, err := h.Store.GetApp(ctx, h.Admin.Org.ID, h.Instance.AppID)
	if err != nil || app.SlackAppID == "" {
		t.Fatalf("the app's Slack app ID after the install: %q (%v)", app.SlackAppID, err)
	}
	event := func(id string) []byte {
		b, _ := json.Marshal(map[string]any{"type": "event_callback", "token": "verification-token-not-kept", "team_id": h.Instance.TeamID,
			"api_app_id": app.SlackAppID, "event_id": id, "event_time": time.Now().Unix(),
			"event": map[string]any{"type": "channel_created", "channel": map[string]any{"id": "C0NEW", "name": "secret-plans-body-marker"}}})
		return b
	}
	now := time.Now()
	for _, c := range []struct {
		name   string
		body   []byte
		secret string
		at     time.Time
		status int
		code   string
	}{
		{"unsigned", event("Ev1"), "", now, 401, "missing_signature"},
		{"another secret", event("Ev1"), "not-the-signing-secret", now, 401, "bad_signature"},
		{"six minutes old", event("Ev1"), secret, now.Add(-6 * time.Minute), 401, "stale_request"},
		{"six minutes ahead", event("Ev1"), secret, now.Add(6 * time.Minute), 401, "stale_request"},
		{"not JSON", []byte("secret-plans-body-marker"), secret, now, 400, "malformed_event"},
		{"no event_id", []byte(`{"type":"event_callback","event":{"type":"x"}}`), secret, now, 400, "malformed_event"},
		{"over the cap", append(event("Ev1"), bytes.Repeat([]byte(" "), 1<<20)...), secret, now, 413, ""},
	} {
		status, answer := deliver(t, h, c.body, c.secret, c.at)
		if status != c.status || !strings.Contains(answer, `"code":"`+c.code) {
			t.Errorf("%s: %d %s; want %d %s", c.name, status, answer, c.status, c.code)
		}
	}
	if strings.Contains(h.Logs.String(), "secret-plans-body-marker") {
		t.Error("a refused delivery's body is in the log")
	}
	// Delivered twice (Slack's retry): kept once, the second counted.
	first, a1 := deliver(t, h, event("EvTWICE"), secret, now)
	second, a2 := deliver(t, h, event("EvTWICE"), secret, now)
	var ack1, ack2 struct {
		ID        string `json:"id"`
		Duplicate bool   `json:"duplicate"`
	}
	json.Unmarshal([]byte(a1), &ack1)
	json.Unmarshal([]byte(a2), &ack2)
	if first != 200 || second != 200 || ack1.Duplicate || !ack2.Duplicate || ack1.ID == "" || ack1.ID != ack2.ID {
		t.Fatalf("one event delivered twice: %d %s, then %d %s; want both acknowledged, the second a duplicate of the first", first, a1, second, a2)
	}
	e, err := h.Store.GetSlackEvent(ctx, h.Admin.Org.ID, ack1.ID)
	if err != nil || e.Deliveries != 2 {
		t.Errorf("the event delivered twice: %d deliveries (%v)", e.Deliveries, err)
	}
	for _, s := range []string{"verification-token-not-kept", secret} {
		if strings.Contains(h.Logs.String(), s) || bytes.Contains(e.Body, []byte(s)) {
			t.Errorf("%.12q… is in the log or the kept body", s)
		}
	}
}
