package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/store"
)

// position is where a stream's walk got to: the checkpoint, written in the
// same transaction as the page of records it follows. Resuming from it
// fetches the next page, never one already written, and never skips one.
type position struct {
	Run string `json:"run"` // the run that wrote it
	// Team is the workspace being walked (Enterprise Grid org installs);
	// TeamDone says it was finished, so the walk goes on with the next one.
	Team     string `json:"team,omitempty"`
	TeamDone bool   `json:"team_done,omitempty"`
	// Parent is the parent record being walked (fan-out streams);
	// ParentDone says it was finished.
	Parent     string `json:"parent,omitempty"`
	ParentDone bool   `json:"parent_done,omitempty"`
	// Cursor is Slack's next_cursor within Team and Parent ("" at the
	// start); Page the next classic page (0 at the start).
	Cursor string `json:"cursor,omitempty"`
	Page   int    `json:"page,omitempty"`
	// Mark is what the last finished run of an incremental stream reached;
	// NewMark what this run has reached so far.
	Mark    string `json:"mark,omitempty"`
	NewMark string `json:"new_mark,omitempty"`
	// Done says this run finished the stream (and marked what it did not see).
	Done bool `json:"done,omitempty"`
	// Acc is a derived stream's running totals, so that a resumed
	// derivation ends with the sums an uninterrupted one would.
	Acc map[string]int64 `json:"acc,omitempty"`
	counts
}

// counts are a stream's figures for one run.
type counts struct {
	Records  int64 `json:"records"`  // written (inserted or updated)
	Inserted int64 `json:"inserted"` // of which new
	Deleted  int64 `json:"deleted"`  // marked deleted at the end of a full walk
	Calls    int64 `json:"calls"`    // calls to Slack
	Retries  int64 `json:"retries"`
	WaitedMS int64 `json:"waited_ms"` // waiting for the budget, and out Retry-After
	Parents  int64 `json:"parents"`   // fan-out: parents done
	Skipped  int64 `json:"skipped"`   // fan-out: parents Slack would not answer for
}

// walker walks one stream for one run.
type walker struct {
	r    *runner
	s    *stream
	team string // the workspace this pass is for ("" for a workspace install)
	pos  position
	cpv  int64 // the checkpoint's version
}

// call calls Slack with the stream's token, for the walker's workspace.
func (w *walker) call(ctx context.Context, method string, args url.Values) (*slackcall.Result, error) {
	if args == nil {
		args = url.Values{}
	}
	if w.team != "" && args.Get("team_id") == "" {
		args.Set("team_id", w.team)
	}
	res, err := w.r.call(ctx, w.s.Token, method, args)
	w.r.update(w.s.Name, func(c *counts) {
		c.Calls++
		if res != nil {
			c.Retries += int64(res.Retries)
			c.WaitedMS += res.Waited.Milliseconds()
		}
	})
	if res != nil {
		w.pos.Calls++
		w.pos.Retries += int64(res.Retries)
		w.pos.WaitedMS += res.Waited.Milliseconds()
	}
	return res, err
}

// teamID is the workspace records of this pass belong to.
func (w *walker) teamID() string {
	if w.team != "" {
		return w.team
	}
	return w.r.inst().TeamID
}

// commit writes a page of records and the position after it, together.
func (w *walker) commit(ctx context.Context, recs []store.Record, next position) error {
	inserted := 0
	err := w.r.svc.store.InTx(ctx, func(q store.Queries) error {
		if len(recs) > 0 {
			n, err := q.UpsertRecords(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Name, w.r.run.ID, recs)
			if err != nil {
				return err
			}
			inserted = n
		}
		next.Records += int64(len(recs))
		next.Inserted += int64(inserted)
		raw, err := json.Marshal(next)
		if err != nil {
			return err
		}
		cp, err := q.PutCheckpoint(ctx, store.Checkpoint{OrgID: w.r.run.OrgID, InstanceID: w.r.run.InstanceID, Stream: w.s.Name, RunID: w.r.run.ID,
			Cursor: raw, Version: w.cpv})
		if err != nil {
			return err
		}
		w.cpv = cp.Version
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: save a page: %w", w.s.Name, err)
	}
	w.pos = next
	w.r.setCounts(w.s.Name, next.counts)
	return nil
}

// finish ends a full walk: the records this run did not see are marked
// deleted, in the transaction that marks the stream done.
func (w *walker) finish(ctx context.Context) error {
	next := w.pos
	next.Done, next.Cursor, next.Page = true, "", 0
	if w.s.Walk == walkIncremental && next.NewMark != "" {
		next.Mark = next.NewMark
	}
	err := w.r.svc.store.InTx(ctx, func(q store.Queries) error {
		if w.s.Walk == walkFull || (w.s.Walk == walkDerived && !w.s.History) {
			n, err := q.MarkUnseen(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Name, w.r.run.ID, w.r.svc.now())
			if err != nil {
				return err
			}
			next.Deleted += int64(n)
		}
		raw, err := json.Marshal(next)
		if err != nil {
			return err
		}
		cp, err := q.PutCheckpoint(ctx, store.Checkpoint{OrgID: w.r.run.OrgID, InstanceID: w.r.run.InstanceID, Stream: w.s.Name, RunID: w.r.run.ID,
			Cursor: raw, Version: w.cpv})
		if err != nil {
			return err
		}
		w.cpv = cp.Version
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: finish: %w", w.s.Name, err)
	}
	w.pos = next
	w.r.setCounts(w.s.Name, next.counts)
	return nil
}

// page is one answer of a list method.
type page struct {
	items  []json.RawMessage
	object map[string]json.RawMessage // methods that answer an object keyed by ID (team.billableInfo, emoji.list)
	next   string
	pages  int // classic paging: how many pages there are
}

// parsePage reads the list in field, and where the next page is.
func parsePage(body []byte, field string) (page, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return page{}, fmt.Errorf("the answer is not JSON: %w", err)
	}
	var p page
	if raw, ok := top[field]; ok && len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &p.object); err != nil {
			return page{}, fmt.Errorf("%s: %w", field, err)
		}
	} else if ok {
		if err := json.Unmarshal(raw, &p.items); err != nil {
			return page{}, fmt.Errorf("%s: %w", field, err)
		}
	} else {
		return page{}, fmt.Errorf("the answer has no %q", field)
	}
	var meta struct {
		NextCursor string `json:"next_cursor"`
	}
	if raw, ok := top["response_metadata"]; ok {
		json.Unmarshal(raw, &meta)
	}
	p.next = meta.NextCursor
	var paging struct {
		Pages int `json:"pages"`
	}
	if raw, ok := top["paging"]; ok {
		json.Unmarshal(raw, &paging)
	}
	p.pages = paging.Pages
	return p, nil
}

// cursorWalk fetches a cursor-paginated list from the position's cursor to
// the end, committing each page's records with the cursor of the next page.
// build makes a record of an item; ok false drops the item.
func (w *walker) cursorWalk(ctx context.Context, method string, args url.Values, field string, build func(json.RawMessage) (store.Record, bool, error)) error {
	for {
		a := cloneArgs(args)
		if w.pos.Cursor != "" {
			a.Set("cursor", w.pos.Cursor)
		}
		res, err := w.call(ctx, method, a)
		if err != nil {
			return err
		}
		p, err := parsePage(res.Body, field)
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		recs, err := buildAll(p.items, build)
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		next := w.pos
		next.Cursor = p.next
		if err := w.commit(ctx, recs, next); err != nil {
			return err
		}
		if p.next == "" {
			return nil
		}
	}
}

func buildAll(items []json.RawMessage, build func(json.RawMessage) (store.Record, bool, error)) ([]store.Record, error) {
	recs := make([]store.Record, 0, len(items))
	for _, it := range items {
		r, ok, err := build(it)
		if err != nil {
			return nil, err
		}
		if ok {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

func cloneArgs(v url.Values) url.Values {
	out := make(url.Values, len(v)+1)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// fanOut walks the parent stream's live records in key order from the
// position, calling each for each parent; each must commit its own pages and
// leave w.pos.Cursor "" when the parent is done. A parent Slack will not
// answer for (skip says which codes mean that) is counted and passed over.
func (w *walker) fanOut(ctx context.Context, each func(ctx context.Context, parent store.Record) error, skip ...string) error {
	after := w.pos.Parent
	if !w.pos.ParentDone && w.pos.Parent != "" {
		// Resume the parent in progress where its cursor says.
		rec, err := w.r.svc.store.GetRecord(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Parent, w.pos.Parent)
		if err == nil {
			if err := w.onParent(ctx, rec, each, skip); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		after = w.pos.Parent
	}
	for {
		recs, next, err := w.r.svc.store.ListRecords(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Parent,
			store.RecordFilter{TeamID: w.parentTeam()}, store.Page{After: after, Limit: 200})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			next := w.pos
			next.Parent, next.ParentDone, next.Cursor, next.Page = rec.Key, false, "", 0
			w.pos = next // not saved until the parent's first page is
			if err := w.onParent(ctx, rec, each, skip); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// parentTeam narrows the parents to the walker's workspace on an org install.
func (w *walker) parentTeam() string { return w.team }

func (w *walker) onParent(ctx context.Context, rec store.Record, each func(context.Context, store.Record) error, skip []string) error {
	err := each(ctx, rec)
	next := w.pos
	next.Parent, next.ParentDone, next.Cursor, next.Page = rec.Key, true, "", 0
	switch code := slackcall.Code(err); {
	case err == nil:
		next.Parents++
	case code != "" && slices.Contains(skip, code):
		next.Skipped++
		w.r.svc.log.Debug("sync: a parent was passed over", "stream", w.s.Name, "parent", rec.Key, "code", code)
	default:
		return err
	}
	return w.commit(ctx, nil, next)
}

// unix reads Slack's epoch seconds (a number, or a string of one).
func unix(raw json.RawMessage) time.Time {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return time.Time{}
		}
		n = json.Number(s)
	}
	f, err := n.Float64()
	if err != nil || f <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(f), 0)
}
