package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	gosync "sync"
	"time"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slackspec"
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
	// Fewest is the fewest calls the data read needed: for each walk of a
	// list, its items over the method's largest page (slackspec's MaxPage),
	// at least one; a call for each one-answer method, each parent Slack
	// refused, and each channel joined. Calls above it are a regression: a
	// smaller page than Slack allows, or something read twice.
	Fewest   int64 `json:"fewest_calls"`
	Retries  int64 `json:"retries"`
	WaitedMS int64 `json:"waited_ms"` // waiting for the budget, and out Retry-After: the stream's time, not the calls' sum
	Parents  int64 `json:"parents"`   // fan-out: parents done
	Skipped  int64 `json:"skipped"`   // fan-out: parents Slack would not answer for
	// SkippedBy counts the parents passed over by Slack's answer (its error
	// code), and, for not_in_channel, how many of them were private
	// ("not_in_channel/private"), archived ("not_in_channel/archived") and
	// neither: public channels the bot may join ("not_in_channel/open").
	// Copied on write: counts are copied between the walker and the run's
	// progress, and share it.
	SkippedBy map[string]int64 `json:"skipped_by,omitempty"`
	Joined    int64            `json:"joined,omitempty"` // public channels the bot joined (join_public_channels)
	// Corrected counts the records events wrote that Slack answered
	// otherwise (reconcile.go).
	Corrected int64 `json:"corrected,omitempty"`
}

// add adds the calls of c (calls, the fewest needed, retries, waiting,
// channels joined) to these.
func (c *counts) add(o counts) {
	c.Calls += o.Calls
	c.Fewest += o.Fewest
	c.Retries += o.Retries
	c.WaitedMS += o.WaitedMS
	c.Joined += o.Joined
}

// atLeast raises each of c's figures to o's where o's is higher: a run
// resumed goes on from the higher of its checkpoint's counts and the
// progress it showed (which counts the calls made after the last commit).
func (c *counts) atLeast(o counts) {
	for _, f := range []struct{ a, b *int64 }{{&c.Records, &o.Records}, {&c.Inserted, &o.Inserted}, {&c.Deleted, &o.Deleted},
		{&c.Calls, &o.Calls}, {&c.Fewest, &o.Fewest}, {&c.Retries, &o.Retries}, {&c.WaitedMS, &o.WaitedMS}, {&c.Parents, &o.Parents}, {&c.Skipped, &o.Skipped},
		{&c.Joined, &o.Joined}, {&c.Corrected, &o.Corrected}} {
		*f.a = max(*f.a, *f.b)
	}
	if len(o.SkippedBy) > 0 {
		by := maps.Clone(c.SkippedBy)
		if by == nil {
			by = map[string]int64{}
		}
		for k, v := range o.SkippedBy {
			by[k] = max(by[k], v)
		}
		c.SkippedBy = by
	}
}

// passedOver counts a parent passed over for Slack's code.
func (c *counts) passedOver(parent store.Record, code string) {
	c.Skipped++
	c.SkippedBy = maps.Clone(c.SkippedBy) // copied on write: see SkippedBy
	if c.SkippedBy == nil {
		c.SkippedBy = map[string]int64{}
	}
	c.SkippedBy[code]++
	if code == "not_in_channel" {
		ch := channelOf(parent)
		if ch.IsPrivate {
			c.SkippedBy[code+"/private"]++
		}
		if ch.IsArchived {
			c.SkippedBy[code+"/archived"]++
		}
		if !ch.IsPrivate && !ch.IsArchived {
			c.SkippedBy[code+"/open"]++
		}
	}
}

// channelFlags are what the walk reads of a channel record.
type channelFlags struct {
	IsPrivate  bool `json:"is_private"`
	IsArchived bool `json:"is_archived"`
	IsChannel  bool `json:"is_channel"`
}

func channelOf(rec store.Record) channelFlags {
	var ch channelFlags
	json.Unmarshal(rec.Data, &ch)
	return ch
}

// walker walks one stream for one run.
type walker struct {
	r    *runner
	s    *stream
	team string // the workspace this pass is for ("" for a workspace install)
	pos  position
	cpv  int64 // the checkpoint's version

	mu       gosync.Mutex
	pending  counts        // calls made since the last commit
	waited   time.Duration // the stream's time waiting for the budget, this process
	waits    int           // calls waiting now
	waitFrom time.Time     // since when one of them has waited (waits > 0)

	// fromEvents are the stream's records events wrote, by key, that the
	// walk has not read again yet; logged counts the corrections logged.
	fromEvents map[string]store.Record
	logged     int
}

// call calls Slack with the stream's token, for the walker's workspace. It
// is safe to call from a fan-out's workers: what it counts waits in pending
// until the next commit saves it with the position, and shows in the run's
// progress at once.
func (w *walker) call(ctx context.Context, method string, args url.Values) (*slackcall.Result, error) {
	if args == nil {
		args = url.Values{}
	}
	if w.team != "" && args.Get("team_id") == "" {
		args.Set("team_id", w.team)
	}
	res, err := w.r.callWaiting(ctx, w.r.tokenFor(w.s), method, args, w.waiting)
	c := counts{Calls: 1}
	if res != nil {
		c.Retries = int64(res.Retries)
	}
	w.add(c)
	return res, err
}

// add counts c in pending and in the run's progress, together: the
// progress is always what was committed and what is pending.
func (w *walker) add(c counts) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending.add(c)
	w.r.update(w.s.Name, func(p *counts) { p.add(c) })
}

// waiting is told when a call of the stream starts and stops waiting for
// Slack's budget. The stream's waiting time is the time at least one of its
// calls waited: calls that wait side by side count once. While one waits,
// the run's progress says since when (and saves the wait so far).
func (w *walker) waiting(on bool) {
	now := w.r.svc.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if on {
		w.waits++
		if w.waits == 1 {
			w.waitFrom = now
			w.r.setState(w.s.Name, func(p *StreamProgress) { p.WaitingSince = now })
		}
		return
	}
	w.waits--
	if w.waits > 0 {
		return
	}
	before := w.waited.Milliseconds()
	if d := now.Sub(w.waitFrom); d > 0 {
		w.waited += d
	}
	ms := w.waited.Milliseconds() - before
	w.pending.WaitedMS += ms
	w.r.setState(w.s.Name, func(p *StreamProgress) { p.WaitedMS += ms; p.WaitingSince = time.Time{} })
}

// takePending adds the calls made since the last commit to next.
func (w *walker) takePending(next *position) {
	w.mu.Lock()
	next.add(w.pending)
	w.pending = counts{}
	w.mu.Unlock()
}

// teamID is the workspace records of this pass belong to.
func (w *walker) teamID() string {
	if w.team != "" {
		return w.team
	}
	return w.r.inst().TeamID
}

// teamOf is the workspace of an object that names it (team), else of the
// walker's pass.
func (w *walker) teamOf(team string) string {
	if team != "" {
		return team
	}
	return w.teamID()
}

// commit writes a page of records and the position after it, together.
func (w *walker) commit(ctx context.Context, recs []store.Record, next position) error {
	w.takePending(&next)
	err := w.save(ctx, &next, func(q store.Queries) error {
		if len(recs) == 0 {
			return nil
		}
		next.Corrected += w.reconcile(recs)
		inserted, err := q.UpsertRecords(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Name, w.r.run.ID, recs)
		next.Records += int64(len(recs))
		next.Inserted += int64(inserted)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: save a page: %w", w.s.Name, err)
	}
	return nil
}

// finish ends a full walk: the records this run did not see are marked
// deleted, in the transaction that marks the stream done.
func (w *walker) finish(ctx context.Context) error {
	next := w.pos
	w.takePending(&next)
	next.Done, next.Cursor, next.Page = true, "", 0
	if w.s.Walk == walkIncremental && next.NewMark != "" {
		next.Mark = next.NewMark
	}
	err := w.save(ctx, &next, func(q store.Queries) error {
		if w.s.Walk != walkFull && (w.s.Walk != walkDerived || w.s.History) {
			return nil
		}
		next.Corrected += w.unlisted()
		n, err := q.MarkUnseen(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Name, w.r.run.ID, w.r.svc.now())
		next.Deleted += int64(n)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: finish: %w", w.s.Name, err)
	}
	return nil
}

// save runs write and then writes next as the stream's checkpoint, in one
// transaction; write may add to next's counts. Once committed, next is the
// walker's position.
func (w *walker) save(ctx context.Context, next *position, write func(store.Queries) error) error {
	err := w.r.svc.store.InTx(ctx, func(q store.Queries) error {
		if err := write(q); err != nil {
			return err
		}
		raw, err := json.Marshal(*next)
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
		return err
	}
	w.pos = *next
	w.mu.Lock()
	shown := next.counts
	shown.add(w.pending) // calls made since the commit began
	w.r.setCounts(w.s, shown)
	w.mu.Unlock()
	return nil
}

// page is one answer of a list method.
type page struct {
	items  []json.RawMessage
	object map[string]json.RawMessage // methods that answer an object keyed by ID (team.billableInfo, emoji.list)
	next   string
	pages  int // classic paging: how many pages there are
}

// parsePage reads the list in field, and where the next page is. It reads
// the answer once, as a stream of tokens, copying out each item of the list
// (a users.list page is a few megabytes: decoding it whole, then its list,
// then each item, read every byte several times over).
func parsePage(body []byte, field string) (page, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return page{}, fmt.Errorf("the answer is not a JSON object")
	}
	var p page
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return page{}, fmt.Errorf("the answer is not JSON: %w", err)
		}
		var err2 error
		switch key, _ := tok.(string); key {
		case field:
			found = true
			err2 = decodeList(dec, &p)
		case "response_metadata":
			var meta struct {
				NextCursor string `json:"next_cursor"`
			}
			err2 = dec.Decode(&meta)
			p.next = meta.NextCursor
		case "paging":
			var paging struct {
				Pages int `json:"pages"`
			}
			err2 = dec.Decode(&paging)
			p.pages = paging.Pages
		default:
			var skip json.RawMessage
			err2 = dec.Decode(&skip)
		}
		if err2 != nil {
			return page{}, fmt.Errorf("the answer is not JSON: %w", err2)
		}
	}
	if !found {
		return page{}, fmt.Errorf("the answer has no %q", field)
	}
	return p, nil
}

// decodeList reads the list of a page: an array of items, or an object of
// items by ID (team.billableInfo, emoji.list).
func decodeList(dec *json.Decoder, p *page) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			var item json.RawMessage
			if err := dec.Decode(&item); err != nil {
				return err
			}
			p.items = append(p.items, item)
		}
	case json.Delim('{'):
		p.object = map[string]json.RawMessage{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			var item json.RawMessage
			if err := dec.Decode(&item); err != nil {
				return err
			}
			key, _ := k.(string)
			p.object[key] = item
		}
	case nil:
		return nil // null: an empty list
	default:
		return fmt.Errorf("the list is neither an array nor an object")
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// A builder makes the records of an item of a list, handing each to add
// (none drops the item).
type builder func(item json.RawMessage, add func(store.Record)) error

// cursorWalk fetches a cursor-paginated list from the position's cursor to
// the end, committing each page's records with the cursor of the next page.
func (w *walker) cursorWalk(ctx context.Context, method string, args url.Values, field string, build builder) error {
	from := w.pos.Cursor
	return w.writeBehind(ctx, func(emit func([]store.Record, func(*position)) error) error {
		return w.cursorPages(ctx, method, args, field, from, build, func(recs []store.Record, cursor string) error {
			return emit(recs, func(p *position) { p.Cursor = cursor })
		})
	})
}

// writeAhead is how many pages a stream fetches ahead of its commits.
const writeAhead = 2

// writeBehind runs produce, which fetches pages and emits them, while the
// pages are committed behind it in order, each with the position that set
// makes of the one before. So fetching the next page does not wait for the
// store to take the last: SQLite takes one writer at a time, and a stream's
// pages queue for it while the stream goes on. produce must not touch w.pos.
// Pages emitted before produce fails are still committed.
func (w *walker) writeBehind(ctx context.Context, produce func(emit func([]store.Record, func(*position)) error) error) error {
	type pending struct {
		recs []store.Record
		set  func(*position)
	}
	pages := make(chan pending, writeAhead)
	stop, cancel := context.WithCancel(ctx)
	defer cancel()
	var produced error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(pages)
		produced = produce(func(recs []store.Record, set func(*position)) error {
			select {
			case pages <- pending{recs, set}:
				return nil
			case <-stop.Done():
				return stop.Err()
			}
		})
	}()
	for p := range pages {
		next := w.pos
		p.set(&next)
		if err := w.commit(ctx, p.recs, next); err != nil {
			cancel()
			<-done
			return err
		}
	}
	<-done
	return produced
}

// cursorPages fetches a cursor-paginated list from cursor to the end, handing
// each page's records and the cursor of the next page ("" after the last) to
// emit.
func (w *walker) cursorPages(ctx context.Context, method string, args url.Values, field, cursor string,
	build builder, emit func([]store.Record, string) error) error {
	walk := w.pageCounter(method)
	for {
		a := cloneArgs(args)
		if cursor != "" {
			a.Set("cursor", cursor)
		}
		p, recs, err := w.fetchPage(ctx, method, a, field, build)
		if err != nil {
			return err
		}
		walk.page(len(p.items), p.next == "")
		if err := emit(recs, p.next); err != nil {
			return err
		}
		if cursor = p.next; cursor == "" {
			return nil
		}
	}
}

// fetchPage calls a list method for one page, and makes its items' records.
func (w *walker) fetchPage(ctx context.Context, method string, args url.Values, field string, build builder) (page, []store.Record, error) {
	res, err := w.call(ctx, method, args)
	if err != nil {
		return page{}, nil, err
	}
	p, err := parsePage(res.Body, field)
	if err != nil {
		return page{}, nil, fmt.Errorf("%s: %w", method, err)
	}
	recs, err := buildAll(p.items, build)
	if err != nil {
		return page{}, nil, fmt.Errorf("%s: %w", method, err)
	}
	return p, recs, nil
}

func buildAll(items []json.RawMessage, build builder) ([]store.Record, error) {
	recs := make([]store.Record, 0, len(items))
	add := func(r store.Record) { recs = append(recs, r) }
	for _, it := range items {
		if err := build(it, add); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// pageCounter counts the fewest calls one walk of a list needs, page by
// page, so that they are committed with the calls made.
func (w *walker) pageCounter(method string) *walkCount {
	m, _ := slackspec.Lookup(method)
	return &walkCount{add: w.add, max: m.MaxPage}
}

// walkCount counts the fewest calls of one walk of a list: its items over
// the method's largest page, at least one (a method that is not paged
// answers in one). A walk resumed mid-list starts counting again, so it may
// count one more than an unbroken one.
type walkCount struct {
	add   func(counts)
	max   int
	items int
}

// page counts a page of n items; last says it was the walk's last.
func (c *walkCount) page(n int, last bool) {
	pages := func(items int) int64 {
		if c.max <= 0 {
			return min(int64(items), 1)
		}
		return int64((items + c.max - 1) / c.max)
	}
	before := pages(c.items)
	c.items += n
	f := pages(c.items) - before
	if last && c.items == 0 {
		f = 1
	}
	if f > 0 {
		c.add(counts{Fewest: f})
	}
}

func cloneArgs(v url.Values) url.Values {
	out := make(url.Values, len(v)+1)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// fetchParent fetches what one parent holds, from cursor ("" at the start),
// handing each page's records and the cursor after it ("" after the last) to
// emit in order. It must not touch the walker's position: a fan-out runs
// several at once.
// page numbers the pages, from the page at cursor (0 at the start), for
// streams whose records are pages.
type fetchParent func(ctx context.Context, parent store.Record, cursor string, page int, emit func([]store.Record, string) error) error

// fanOutWorkers is how many parents a fan-out fetches at once. The pacer
// keeps the calls under Slack's budget; the workers are there so that the
// time a call and its commit take does not leave the budget unspent.
const fanOutWorkers = 32

// fanOutAhead is how many parents a fan-out fetches ahead of its commits:
// while the store is busy with other streams' pages (SQLite takes one writer
// at a time), the workers go on spending the budget. It bounds the memory
// too: each holds at most a few pages.
const fanOutAhead = 8 * fanOutWorkers

// parentPages is what a fan-out worker fetched of one parent, in order.
type parentPages struct {
	parent store.Record
	pages  chan fetchedPage // closed when the parent is done; err says how
	err    error
	page   int // the number of the first page
}

type fetchedPage struct {
	recs   []store.Record
	cursor string
}

// fanOut walks the parent stream's live records in key order from the
// position, fetching up to fanOutWorkers parents at once, and commits their
// pages in parent order, so the checkpoint stays one position: the parent
// being committed and its cursor. A parent Slack will not answer for (a
// code the Slack connector's table says passes a channel over) is counted
// and passed over. Memory is bounded
// by fanOutAhead parents of a few pages each, however large a parent is.
func (w *walker) fanOut(ctx context.Context, fetch fetchParent) error {
	after := w.pos.Parent
	if !w.pos.ParentDone && w.pos.Parent != "" {
		// Finish the parent in progress from its cursor first.
		rec, err := w.r.svc.store.GetRecord(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Parent, w.pos.Parent)
		switch {
		case err == nil:
			j := &parentPages{parent: rec, pages: make(chan fetchedPage, 4), page: w.pos.Page}
			go w.fetchInto(ctx, fetch, j, w.pos.Cursor)
			b := &batch{w: w}
			if err := w.commitParent(ctx, j, b); err != nil {
				return err
			}
			if err := b.flush(ctx); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg gosync.WaitGroup
	defer wg.Wait()
	defer cancel()
	order := make(chan *parentPages, fanOutAhead) // in parent order, to commit
	work := make(chan *parentPages)               // to fetch
	for range fanOutWorkers {
		wg.Go(func() {
			for j := range work {
				w.fetchInto(ctx, fetch, j, "")
			}
		})
	}
	var listErr error
	wg.Go(func() {
		defer close(work)
		defer close(order)
		listErr = w.listParents(ctx, after, func(rec store.Record) bool {
			j := &parentPages{parent: rec, pages: make(chan fetchedPage, 4)}
			for _, ch := range []chan *parentPages{order, work} {
				select {
				case ch <- j:
				case <-ctx.Done():
					return false
				}
			}
			return true
		})
	})
	b := &batch{w: w}
	for j := range order {
		if err := w.commitParent(ctx, j, b); err != nil {
			return err
		}
	}
	if err := b.flush(ctx); err != nil {
		return err
	}
	if listErr != nil {
		return listErr
	}
	return ctx.Err()
}

// listParents hands the parent stream's live records after the key after to
// each, in key order, a page at a time, until each says stop.
func (w *walker) listParents(ctx context.Context, after string, each func(store.Record) bool) error {
	for {
		recs, next, err := w.r.svc.store.ListRecords(ctx, w.r.run.OrgID, w.r.run.InstanceID, w.s.Parent,
			store.RecordFilter{TeamID: w.team}, store.Page{After: after, Limit: 200})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if !each(rec) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// fetchInto fetches a parent into j's pages, and closes them.
func (w *walker) fetchInto(ctx context.Context, fetch fetchParent, j *parentPages, cursor string) {
	j.err = fetch(ctx, j.parent, cursor, j.page, func(recs []store.Record, next string) error {
		select {
		case j.pages <- fetchedPage{recs, next}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(j.pages)
}

// fanOutBatch is how many records and parents a fan-out commits in one
// transaction at most: most parents are a page or none (a channel's
// members, its bookmarks), and a transaction each would spend the store's
// one writer on commits.
const fanOutBatch = 256

// batch gathers the pages of consecutive parents, with the position after
// the last, into one transaction: committing them together is committing
// them one after the other, so a resumed walk is where it would have been.
type batch struct {
	w    *walker
	recs []store.Record
	next *position // the position after the pages staged; nil: none
	n    int       // records and parent ends staged
}

// at is the position the next page follows: the staged one's, else the
// committed one.
func (b *batch) at() position {
	if b.next != nil {
		return *b.next
	}
	return b.w.pos
}

// add stages a page of records and the position after it, and commits what
// is staged once it is a batch.
func (b *batch) add(ctx context.Context, recs []store.Record, next position, parentEnd bool) error {
	b.recs = append(b.recs, recs...)
	b.next = &next
	b.n += len(recs)
	if parentEnd {
		b.n++
	}
	if b.n >= fanOutBatch {
		return b.flush(ctx)
	}
	return nil
}

// flush commits what is staged.
func (b *batch) flush(ctx context.Context) error {
	if b.next == nil {
		return nil
	}
	recs, next := b.recs, *b.next
	b.recs, b.next, b.n = nil, nil, 0
	return b.w.commit(ctx, recs, next)
}

// commitParent stages a parent's pages in b as they come, each with the
// cursor after it. The last page is held back to go with the parent's end,
// so a parent of one page costs no transaction of its own. Before waiting
// for a page not fetched yet, what is staged is committed.
func (w *walker) commitParent(ctx context.Context, j *parentPages, b *batch) error {
	var held *fetchedPage
	page := j.page
	for {
		var p fetchedPage
		var ok bool
		select {
		case p, ok = <-j.pages:
		default:
			if err := b.flush(ctx); err != nil {
				return err
			}
			p, ok = <-j.pages
		}
		if !ok {
			break
		}
		if held != nil {
			page++
			next := b.at()
			next.Parent, next.ParentDone, next.Cursor, next.Page = j.parent.Key, false, held.cursor, page
			if err := b.add(ctx, held.recs, next, false); err != nil {
				return err
			}
		}
		held = &p
	}
	next := b.at()
	next.Parent, next.ParentDone, next.Cursor, next.Page = j.parent.Key, true, "", 0
	var recs []store.Record
	switch code := slackcall.Code(j.err); {
	case j.err == nil:
		next.Parents++
		if held != nil {
			recs = held.recs
		}
	case code != "" && slack.PassesOver(code):
		// Slack will not answer for it (any pages before the refusal are
		// left to a later sync, as a parent passed over).
		next.passedOver(j.parent, code)
		next.Fewest++ // the call that learns it
		w.r.svc.log.Debug("sync: a parent was passed over", "stream", w.s.Name, "parent", j.parent.Key, "code", code)
	default:
		if held != nil {
			// Keep what was fetched before the failure, and where it ended.
			next.ParentDone, next.Cursor, next.Page = false, held.cursor, page+1
			if err := b.add(ctx, held.recs, next, false); err != nil {
				return err
			}
		}
		if err := b.flush(ctx); err != nil {
			return err
		}
		return j.err
	}
	return b.add(ctx, recs, next, true)
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
