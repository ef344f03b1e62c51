package sync

import (
	"encoding/json"
	"testing"
)

func TestDiffers(t *testing.T) {
	for _, c := range []struct {
		event, synced string
		volatile      []string
		want          bool
	}{
		{`{"name":"a"}`, `{"name":"a","extra":1}`, nil, false},     // a field the event lacks is not compared
		{`{"name":"a","told":1}`, `{"name":"a"}`, nil, false},      // nor one the list does not draw
		{`{"name":"a"}`, `{"name":"b"}`, nil, true},                // the event said otherwise
		{`{"ids":["U2","U1"]}`, `{"ids":["U1","U2"]}`, nil, false}, // members are a set
		{`{"ids":["U2","U1"]}`, `{"ids":["U1","U3"]}`, nil, true},  // not the same set
		{`{"n":1.0}`, `{"n":1}`, nil, false},                       // numbers by value
		{`{"updated":1,"name":"a"}`, `{"updated":2,"name":"a"}`, []string{"updated"}, false},
		{`{"p":{"a":1}}`, `{"p":{"a":2}}`, nil, true},
		{`not json`, `{}`, nil, true},
	} {
		if got := differs(json.RawMessage(c.event), json.RawMessage(c.synced), c.volatile); got != c.want {
			t.Errorf("differs(%s, %s, %v) = %v, want %v", c.event, c.synced, c.volatile, got, c.want)
		}
	}
}
