package sync

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestWithFieldAddsAFieldOnlyWhereItIsMissing(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"user_id":"U1"}`, `{"team_id":"T1","user_id":"U1"}`},
		{`{}`, `{"team_id":"T1"}`},
		{` { }`, `{"team_id":"T1"}`},
		{`{"team_id":"T9","a":1}`, `{"team_id":"T9","a":1}`},                                        // there already
		{`{"profile":{"team_id":"T9"},"a":1}`, `{"a":1,"profile":{"team_id":"T9"},"team_id":"T1"}`}, // only nested: added at the top
		{`{"text":"team_id"}`, `{"team_id":"T1","text":"team_id"}`},                                 // the name as a value
		{`[1]`, `[1]`}, // not an object
	} {
		got := withField(json.RawMessage(c.in), "team_id", "T1")
		var g, w any
		if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(c.want), &w) != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("withField(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParsePageReadsListsCursorsAndPages(t *testing.T) {
	p, err := parsePage([]byte(`{"ok":true,"members":[{"id":"U1"},{"id":"U2","x":[1,{"y":2}]}],"response_metadata":{"next_cursor":"abc"},"paging":{"pages":3}}`), "members")
	if err != nil || len(p.items) != 2 || string(p.items[1]) != `{"id":"U2","x":[1,{"y":2}]}` || p.next != "abc" || p.pages != 3 {
		t.Errorf("array page: %+v %v", p, err)
	}
	p, err = parsePage([]byte(`{"ok":true,"billable_info":{"U1":{"billing_active":true},"U2":{"billing_active":false}}}`), "billable_info")
	if err != nil || len(p.object) != 2 || string(p.object["U2"]) != `{"billing_active":false}` {
		t.Errorf("object page: %+v %v", p, err)
	}
	if p, err := parsePage([]byte(`{"ok":true,"members":null}`), "members"); err != nil || len(p.items) != 0 {
		t.Errorf("a null list: %+v %v", p, err)
	}
	for _, bad := range []string{`{"ok":true}`, `{"ok":true,"members":[{"id":"U1"}`, `not json`, `{"members":"x"}`, `[]`} {
		if _, err := parsePage([]byte(bad), "members"); err == nil {
			t.Errorf("parsePage(%s) took it", bad)
		}
	}
}

func TestWaitsSideBySideCountOnce(t *testing.T) {
	at := time.Unix(1000, 0)
	clock := at
	r := &runner{svc: &Service{now: func() time.Time { return clock }}, progress: map[string]*StreamProgress{"s": {}}}
	w := &walker{r: r, s: &stream{Name: "s"}}
	step := func(ms int, on bool) {
		clock = at.Add(time.Duration(ms) * time.Millisecond)
		w.waiting(on)
	}
	step(0, true)    // a first call waits
	step(50, true)   // a second, beside it
	step(100, false) // the first is through
	if got := r.progress["s"]; got.WaitedMS != 0 || !got.WaitingSince.Equal(at) {
		t.Errorf("one call still waiting: waited %dms since %s; want 0ms so far, since %s", got.WaitedMS, got.WaitingSince, at)
	}
	step(150, false) // and the second
	step(200, true)  // after a gap
	step(300, false)
	step(300, true) // no wait
	step(300, false)
	if got := r.progress["s"]; got.WaitedMS != 250 || !got.WaitingSince.IsZero() || w.pending.WaitedMS != 250 {
		t.Errorf("waited %dms (pending %dms), waiting since %s; want 250ms, not waiting", got.WaitedMS, w.pending.WaitedMS, got.WaitingSince)
	}
}
