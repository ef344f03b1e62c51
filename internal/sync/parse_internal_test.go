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
	w := &walker{}
	at := time.Unix(1000, 0)
	ms := func(n int) time.Time { return at.Add(time.Duration(n) * time.Millisecond) }
	for _, c := range []struct {
		from, to int
		want     int64
	}{
		{0, 100, 100},   // the first wait
		{50, 150, 50},   // overlaps it: only the new 50 ms
		{60, 120, 0},    // inside what was counted
		{200, 300, 100}, // after a gap
		{300, 300, 0},   // no wait
	} {
		if got := w.waitedSpan(ms(c.from), ms(c.to)); got != c.want {
			t.Errorf("wait %d..%d ms: counted %d ms, want %d", c.from, c.to, got, c.want)
		}
	}
	if w.waited != 250*time.Millisecond {
		t.Errorf("in all %s, want 250ms", w.waited)
	}
}
