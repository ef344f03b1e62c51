package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// testSlackEventScan: an organization's kept Slack events are scanned in
// order of receipt (received_at, then ID, which may disagree with the IDs
// alone), between two places, newest first too, filtered by instance, type
// and routing, each with the instances it was routed to; the earliest
// unprocessed event is found.
func testSlackEventScan(t *testing.T, e *env) {
	o := e.org(t)
	app := e.app(t, o.ID)
	in1, in2 := e.instance(t, o.ID, nil), e.instance(t, o.ID, nil)
	t0 := time.UnixMilli(1_800_000_000_000).UTC()
	put := func(eventID, typ string, at time.Time) store.SlackEvent {
		t.Helper()
		ev, created, err := e.s.PutSlackEvent(ctx, store.SlackEvent{OrgID: o.ID, AppID: app.ID, EventID: eventID, Type: typ, TeamID: "T0123",
			EventTime: at, ReceivedAt: at, Body: []byte(`{"type":"event_callback"}`)})
		must(t, err)
		if !created {
			t.Fatalf("%s was kept already", eventID)
		}
		return ev
	}
	e1 := put("Ev1", "user_change", t0)
	e2 := put("Ev2", "message", t0.Add(time.Millisecond))
	e3 := put("Ev3", "user_change", t0.Add(time.Millisecond)) // the same millisecond: after e2 by ID
	e4 := put("Ev4", "channel_created", t0.Add(2*time.Millisecond))
	e5 := put("Ev5", "message", t0.Add(3*time.Millisecond))
	e6 := put("Ev6", "user_change", t0.Add(-time.Millisecond)) // the greatest ID, the earliest receipt
	if _, err := e.s.FirstUnprocessedSlackEvent(ctx, o.ID); err != nil {
		t.Fatalf("the first unprocessed event before any is processed: %v", err)
	}
	done := func(ev store.SlackEvent, status string, ins ...string) store.SlackEventOutcome {
		return store.SlackEventOutcome{OrgID: o.ID, ID: ev.ID, ReceivedAt: ev.ReceivedAt, Status: status, InstanceIDs: ins}
	}
	must(t, e.s.FinishSlackEvents(ctx, []store.SlackEventOutcome{done(e1, store.SlackEventProcessed, in1.ID), done(e2, store.SlackEventProcessed, in2.ID),
		done(e3, store.SlackEventProcessed, in1.ID, in2.ID), done(e4, store.SlackEventUnrouted), done(e6, store.SlackEventProcessed, in1.ID)}))

	first, err := e.s.FirstUnprocessedSlackEvent(ctx, o.ID)
	must(t, err)
	if first.ID != e5.ID || !sameTime(first.ReceivedAt, e5.ReceivedAt) {
		t.Errorf("the first unprocessed event: %+v, want %s at %v", first, e5.ID, e5.ReceivedAt)
	}
	names := map[string]string{e1.ID: "e1", e2.ID: "e2", e3.ID: "e3", e4.ID: "e4", e5.ID: "e5", e6.ID: "e6"}
	scan := func(what string, s store.SlackEventScan, want ...string) []store.SlackEvent {
		t.Helper()
		evs, err := e.s.ScanSlackEvents(ctx, o.ID, s)
		must(t, err)
		var got []string
		for _, ev := range evs {
			got = append(got, names[ev.ID])
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
		return evs
	}
	all := scan("every event", store.SlackEventScan{}, "e6", "e1", "e2", "e3", "e4", "e5")
	routes := map[string][]string{"e6": {in1.ID}, "e1": {in1.ID}, "e2": {in2.ID}, "e3": sorted(in1.ID, in2.ID), "e4": nil, "e5": nil}
	for _, ev := range all {
		if want := routes[names[ev.ID]]; !slices.Equal(ev.InstanceIDs, want) {
			t.Errorf("%s was routed to %v, want %v", names[ev.ID], ev.InstanceIDs, want)
		}
		if ev.Status == "" || ev.Type == "" || len(ev.Body) == 0 {
			t.Errorf("%s scanned without its columns: %+v", names[ev.ID], ev)
		}
	}
	f := func(ins, types []string, routed bool) store.SlackEventFilter {
		return store.SlackEventFilter{InstanceIDs: ins, Types: types, Routed: routed}
	}
	scan("instance 1's", store.SlackEventScan{SlackEventFilter: f([]string{in1.ID}, nil, false)}, "e6", "e1", "e3")
	scan("either instance's", store.SlackEventScan{SlackEventFilter: f([]string{in1.ID, in2.ID}, nil, false)}, "e6", "e1", "e2", "e3")
	scan("the routed", store.SlackEventScan{SlackEventFilter: f(nil, nil, true)}, "e6", "e1", "e2", "e3")
	scan("the messages", store.SlackEventScan{SlackEventFilter: f(nil, []string{"message"}, false)}, "e2", "e5")
	scan("instance 2's user_change and message", store.SlackEventScan{SlackEventFilter: f([]string{in2.ID}, []string{"user_change", "message"}, false)}, "e2", "e3")
	scan("received since e2's millisecond", store.SlackEventScan{SlackEventFilter: store.SlackEventFilter{Since: e2.ReceivedAt}}, "e2", "e3", "e4", "e5")
	scan("after e2", store.SlackEventScan{After: e2.Key()}, "e3", "e4", "e5")
	scan("from e2", store.SlackEventScan{After: e2.Key(), AfterIncluded: true}, "e2", "e3", "e4", "e5")
	scan("before e4", store.SlackEventScan{Before: e4.Key()}, "e6", "e1", "e2", "e3")
	scan("before e2's millisecond", store.SlackEventScan{Before: store.SlackEventKey{ReceivedAt: e2.ReceivedAt}}, "e6", "e1")
	scan("from e2's millisecond", store.SlackEventScan{After: store.SlackEventKey{ReceivedAt: e2.ReceivedAt}, AfterIncluded: true}, "e2", "e3", "e4", "e5")
	scan("between e1 and e5", store.SlackEventScan{After: e1.Key(), Before: e5.Key()}, "e2", "e3", "e4")
	scan("the first two", store.SlackEventScan{Limit: 2}, "e6", "e1")
	scan("the newest two", store.SlackEventScan{Newest: true, Limit: 2}, "e5", "e4")
	scan("the newest two before e4", store.SlackEventScan{Newest: true, Before: e4.Key(), Limit: 2}, "e3", "e2")
	if evs, err := e.s.ScanSlackEvents(ctx, e.org(t).ID, store.SlackEventScan{}); err != nil || len(evs) != 0 {
		t.Errorf("another organization's scan: %d events (%v), want none", len(evs), err)
	}

	listed, _, err := e.s.ListSlackEvents(ctx, o.ID, store.SlackEventFilter{InstanceIDs: []string{in2.ID}}, store.Page{})
	must(t, err)
	if len(listed) != 2 || listed[0].ID != e2.ID || listed[1].ID != e3.ID || !slices.Equal(listed[1].InstanceIDs, sorted(in1.ID, in2.ID)) {
		t.Errorf("instance 2's list: %+v, want e2 and e3 with their instances", listed)
	}

	must(t, e.s.FinishSlackEvents(ctx, []store.SlackEventOutcome{done(e5, store.SlackEventFailed)}))
	if _, err := e.s.FirstUnprocessedSlackEvent(ctx, o.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the first unprocessed event once all are: %v, want ErrNotFound", err)
	}
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}
