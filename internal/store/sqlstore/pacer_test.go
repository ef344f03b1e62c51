package sqlstore

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestPacerRingReadsBothFormats: a lane written by a replica from before
// the done times (slot times only) reads as calls not reported, so that a
// rolling upgrade never hands out a slot its ring forbids.
func TestPacerRingReadsBothFormats(t *testing.T) {
	for raw, want := range map[string][]pacerCall{
		`[5,7]`:               {{slot: 5}, {slot: 7}},
		`[[5,0],[7,9]]`:       {{slot: 5}, {slot: 7, done: 9}},
		`[]`:                  nil,
		`[[1700000000000,0]]`: {{slot: 1700000000000}},
	} {
		var ring []pacerCall
		if err := json.Unmarshal([]byte(raw), &ring); err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if !slices.Equal(ring, want) && !(len(ring) == 0 && len(want) == 0) {
			t.Errorf("%s read as %v, want %v", raw, ring, want)
		}
		if len(ring) > 0 {
			b, _ := json.Marshal(ring)
			var again []pacerCall
			if err := json.Unmarshal(b, &again); err != nil || !slices.Equal(again, ring) {
				t.Errorf("%s written as %s, read back as %v (%v)", raw, b, again, err)
			}
		}
	}
	var ring []pacerCall
	if err := json.Unmarshal([]byte(`[["x"]]`), &ring); err == nil {
		t.Error(`a ring of ["x"] was read without an error`)
	}
}
