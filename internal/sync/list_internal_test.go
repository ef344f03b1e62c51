package sync

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/store"
)

// records makes the records of one item of a stream's list, for a walk of
// workspace T1.
func listRecords(t *testing.T, stream, item string) ([]store.Record, error) {
	t.Helper()
	s := streamByName(stream)
	if s == nil || s.List == nil {
		t.Fatalf("%s is not a list stream", stream)
	}
	var out []store.Record
	err := s.List.records(&walker{s: s, team: "T1"}, json.RawMessage(item), "T1", func(r store.Record) { out = append(out, r) })
	return out, err
}

func TestListSpecsKeyRecordsAsTheirStreamsSay(t *testing.T) {
	for _, c := range []struct {
		stream, item string
		keys         string // the records' keys, space-separated
		team         string
	}{
		{"users", `{"id":"U1","team_id":"T2","updated":5}`, "U1", "T2"},
		{"users", `{"id":"U1"}`, "U1", "T1"},
		// Access logs: person, IP and a hash of the user agent.
		{"access_logs", `{"user_id":"U1","ip":"10.0.0.1","user_agent":"Mozilla","date_last":7}`, "U1/10.0.0.1/099137afb52e", "T1"},
		{"access_logs", `{"user_id":"U1","ip":"","user_agent":""}`, "U1//e3b0c44298fc", "T1"},
		// Integration logs: the app or else the service, the channel only when there is one.
		{"integration_logs", `{"date":"1392163200","app_id":"A1","service_id":"","change_type":"added","user_id":"U1"}`, "1392163200/A1/added/U1", "T1"},
		{"integration_logs", `{"date":"1392163200","service_id":"S9","change_type":"removed","user_id":"U1","channel":"C1"}`, "1392163200/S9/removed/U1/C1", "T1"},
		// A record per member of each group.
		{"usergroup_members", `{"id":"S1","team_id":"T3","users":["U1","U2"]}`, "S1/U1 S1/U2", "T3"},
		{"usergroup_members", `{"id":"S1","users":[]}`, "", ""},
		{"team", `{"id":"T7","name":"x"}`, "T7", "T7"},
	} {
		recs, err := listRecords(t, c.stream, c.item)
		if err != nil {
			t.Errorf("%s %s: %v", c.stream, c.item, err)
			continue
		}
		var keys []string
		for _, r := range recs {
			keys = append(keys, r.Key)
			if r.TeamID != c.team {
				t.Errorf("%s %s: team %q, want %q", c.stream, c.item, r.TeamID, c.team)
			}
		}
		if got := strings.Join(keys, " "); got != c.keys {
			t.Errorf("%s %s: keys %q, want %q", c.stream, c.item, got, c.keys)
		}
	}

	recs, _ := listRecords(t, "access_logs", `{"user_id":"U1","ip":"1","user_agent":"a","date_last":1700000000}`)
	var data map[string]any
	json.Unmarshal(recs[0].Data, &data)
	if data["team_id"] != "T1" || recs[0].SourceUpdatedAt.Unix() != 1700000000 {
		t.Errorf("an access log's record: %s, updated %v", recs[0].Data, recs[0].SourceUpdatedAt)
	}
	recs, _ = listRecords(t, "usergroup_members", `{"id":"S1","users":["U1"]}`)
	if string(recs[0].Data) != `{"team_id":"T1","user_id":"U1","usergroup_id":"S1"}` {
		t.Errorf("a member's record: %s", recs[0].Data)
	}
	for stream, item := range map[string]string{"access_logs": `{"ip":"1"}`, "users": `{"name":"x"}`, "integration_logs": `[1]`} {
		if _, err := listRecords(t, stream, item); err == nil {
			t.Errorf("%s took %s", stream, item)
		}
	}
}

func TestTheFewestCallsAreTheItemsOverTheLargestPage(t *testing.T) {
	for _, c := range []struct {
		max   int
		pages []int // items per page, the last ending the walk
		want  int64
	}{
		{1000, []int{1000, 1000, 1}, 3},
		{1000, []int{1000, 1000}, 2},
		{1000, []int{500, 500, 200}, 2}, // short pages: three calls where two would do
		{1000, []int{0}, 1},             // an empty list still takes a call
		{1000, []int{200, 0}, 1},
		{0, []int{40}, 1}, // a method that answers in one
	} {
		var got int64
		walk := &walkCount{max: c.max, add: func(n counts) { got += n.Fewest }}
		for i, n := range c.pages {
			walk.page(n, i == len(c.pages)-1)
		}
		if got != c.want {
			t.Errorf("pages %v of at most %d: fewest %d, want %d", c.pages, c.max, got, c.want)
		}
	}
}

// TestStreamsNameTheEventsThatKeepThemFresh: each event type ApplyEvent
// knows is named by a stream it keeps fresh, and each stream's events are
// ones it knows.
func TestStreamsNameTheEventsThatKeepThemFresh(t *testing.T) {
	named := map[string]bool{}
	for _, s := range streams {
		for _, e := range s.Events {
			named[e] = true
			if eventAppliers[e] == nil {
				t.Errorf("stream %s names event %s, which ApplyEvent does not apply", s.Name, e)
			}
		}
	}
	for e := range eventAppliers {
		if !named[e] {
			t.Errorf("ApplyEvent applies %s, which no stream names", e)
		}
	}
}
