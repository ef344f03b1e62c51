package sync

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"

	"github.com/connhub/connhub/internal/store"
)

// Reconciling: between syncs, Slack's events keep records fresh
// (ApplyEvent), and a record an event wrote says so (its SeenRunID is the
// event's ID). A sync that reads such a record again compares Slack's
// answer with what the event wrote, and counts in the stream's "corrected"
// the records where they differ: a field the event gave that Slack now
// answers otherwise, a record an event marked deleted that Slack still
// lists, or, at the end of a full walk, one an event wrote that Slack no
// longer lists. Fields Slack's list does not draw are not compared (an
// event may tell more of an object than its list method does), nor are the
// ones Slack changes with no event (the stream's Volatile). The sync's
// answer is what is stored either way; the count and the log say how far
// the events had drifted from Slack's state, which should be nowhere.

// maxCorrectionsLogged bounds the corrections a walk logs one by one.
const maxCorrectionsLogged = 10

// loadFromEvents reads the stream's records that events wrote since the
// last run, for the walk to compare Slack's answers with.
func (w *walker) loadFromEvents(ctx context.Context) error {
	if w.s.Walk == walkDerived {
		return nil
	}
	after := ""
	for {
		recs, next, err := w.r.svc.store.ListRecords(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Name,
			store.RecordFilter{WrittenByEvents: true, IncludeDeleted: true}, store.Page{After: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if w.fromEvents == nil {
				w.fromEvents = map[string]store.Record{}
			}
			w.fromEvents[r.Key] = r
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// reconcile compares a page Slack answered with what events wrote of it,
// and counts the records it corrects.
func (w *walker) reconcile(recs []store.Record) (corrected int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.fromEvents) == 0 {
		return 0
	}
	for _, r := range recs {
		old, ok := w.fromEvents[r.Key]
		if !ok {
			continue
		}
		delete(w.fromEvents, r.Key)
		switch {
		case !old.DeletedAt.IsZero():
			w.corrected(old, "an event marked it deleted; Slack still lists it")
		case differs(old.Data, r.Data, w.s.Volatile):
			w.corrected(old, "Slack's answer differs from what the event wrote")
		default:
			continue
		}
		corrected++
	}
	return corrected
}

// unlisted counts, at the end of a full walk, the records events wrote
// that Slack no longer lists, which the walk's end marks deleted.
func (w *walker) unlisted() (corrected int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]string, 0, len(w.fromEvents))
	for k, old := range w.fromEvents {
		if old.DeletedAt.IsZero() {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.corrected(w.fromEvents[k], "an event wrote it; Slack no longer lists it")
	}
	w.fromEvents = nil
	return int64(len(keys))
}

// corrected logs a correction, the first few of a walk one by one.
func (w *walker) corrected(old store.Record, why string) {
	w.logged++
	if w.logged <= maxCorrectionsLogged {
		w.r.svc.log.Info("sync: corrected a record an event wrote", "run", w.r.run.ID, "stream", w.s.Name, "key", old.Key,
			"event", old.SeenRunID, "why", why)
	}
}

// differs says whether Slack's object (synced) answers a field of the
// event's (fromEvent) otherwise. Lists of strings are compared as sets
// (members come in no promised order); a field synced lacks is not
// compared, nor are the stream's volatile fields.
func differs(fromEvent, synced json.RawMessage, volatile []string) bool {
	var ev, sy any
	if json.Unmarshal(fromEvent, &ev) != nil || json.Unmarshal(synced, &sy) != nil {
		return true
	}
	evObj, ok1 := ev.(map[string]any)
	syObj, ok2 := sy.(map[string]any)
	if !ok1 || !ok2 {
		return !reflect.DeepEqual(ev, sy)
	}
	for k, v := range evObj {
		if s, ok := syObj[k]; ok && !slices.Contains(volatile, k) && !sameValue(v, s) {
			return true
		}
	}
	return false
}

func sameValue(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok && len(as) == len(bs) && allStrings(as) && allStrings(bs) {
		x, y := make([]string, len(as)), make([]string, len(bs))
		for i := range as {
			x[i], y[i] = as[i].(string), bs[i].(string)
		}
		slices.Sort(x)
		slices.Sort(y)
		return slices.Equal(x, y)
	}
	return reflect.DeepEqual(a, b)
}

func allStrings(xs []any) bool {
	for _, x := range xs {
		if _, ok := x.(string); !ok {
			return false
		}
	}
	return true
}
