package events

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// A stream follows the events a reader may see as they are processed, in
// order of receipt (received_at, then ID), each once, from any replica: it
// reads the store, never this process's memory, every StreamPoll. Its
// place is the last event it sent, so that a reader that reconnects with
// that event's ID (SSE's Last-Event-ID) misses none and gets none twice;
// before its first event, the place is where it started (Start,
// since_<Unix ms>), which a reader reconnects with just as well.
//
// An event is sent once it is processed (its status and instances are
// known, and the reader may be allowed it only by them), so a stream holds
// at the organization's first event not processed yet: replicas process
// events side by side, and one received earlier could otherwise be
// passed over, as the webhooks' senders hold (internal/webhooks). And it
// passes an event only StreamSettle after its receipt: an event's place
// is taken when it is received and kept a moment later, so a slower write
// could land behind a place a stream already passed. A write slower than
// StreamSettle (a database stalled that long), or replicas' clocks further
// apart than it, could still be passed over.

// Defaults of the streams' Options.
const (
	DefaultStreamPoll      = 500 * time.Millisecond
	DefaultStreamSettle    = time.Second
	DefaultStreamKeepalive = 15 * time.Second
)

// streamBatch is how many events a stream reads from the store at a time.
const streamBatch = 200

// StreamInput says which events a stream carries and where it starts.
type StreamInput struct {
	Filter
	// After is where the reader is (SSE's Last-Event-ID): the ID of the
	// last event it has, or the place a stream started (Stream.Start)
	// when it had none. The stream goes on from there.
	After string
	// Since, without After, starts the stream with the events received at
	// or after it; zero: from now.
	Since time.Time
}

// sincePrefix begins the place of a stream that started at a time, not
// after an event: since_<Unix milliseconds>.
const sincePrefix = "since_"

// Stream is one reader's stream of events; Run sends them.
type Stream struct {
	s     *Service
	p     tenant.Principal
	sight store.SlackEventFilter
	// from is where the next read starts: after the last event sent, or
	// at the end of the last stretch read (included).
	from         store.SlackEventKey
	fromIncluded bool
	start        bool // it starts at a time, not after an event
}

// Stream checks that p may see the events in asks for, and where the
// stream starts. Its errors are Problems, to answer before streaming.
func (s *Service) Stream(ctx context.Context, p tenant.Principal, in StreamInput) (*Stream, error) {
	sight, err := s.sight(ctx, p, in.Filter)
	if err != nil {
		return nil, err
	}
	st := &Stream{s: s, p: p, sight: sight}
	badCursor := apierror.New(http.StatusBadRequest, "invalid_cursor",
		"Last-Event-ID (or after) is neither an event you have seen nor where a stream started: connect without it to start from now, or with since")
	since, fromTime := strings.CutPrefix(in.After, sincePrefix)
	switch {
	case in.After == "":
		at := in.Since
		if at.IsZero() {
			at = s.now()
		}
		st.from, st.fromIncluded, st.start = store.SlackEventKey{ReceivedAt: at.UTC().Truncate(time.Millisecond)}, true, true
		return st, nil
	case fromTime:
		ms, err := strconv.ParseInt(since, 10, 64)
		if err != nil || ms < 0 {
			return nil, badCursor
		}
		st.from, st.fromIncluded, st.start = store.SlackEventKey{ReceivedAt: time.UnixMilli(ms).UTC()}, true, true
		return st, nil
	}
	e, err := s.store.GetSlackEvent(ctx, p.Org.ID, in.After)
	if errors.Is(err, store.ErrNotFound) || err == nil && !sees(sight, e) {
		return nil, badCursor
	}
	if err != nil {
		return nil, err
	}
	st.from = e.Key()
	return st, nil
}

// Start is where the stream starts (ask before Run), for a reader that gets
// no event before it reconnects to go on from (StreamInput.After): "" when
// it goes on after an event, whose ID the reader has.
func (st *Stream) Start() string {
	if !st.start {
		return ""
	}
	return placeAt(st.from.ReceivedAt)
}

// placeAt is the place of a stream that starts with the events received at
// or after t.
func placeAt(t time.Time) string { return sincePrefix + strconv.FormatInt(t.UnixMilli(), 10) }

// Run sends the stream's events to send, a batch at a time in order of
// receipt, until ctx ends, the service ends its streams (EndStreams), or
// send or the store fails; it calls keepalive when the stream has been
// silent for StreamKeepalive. It returns nil when ctx ended or the streams
// were ended, else the error.
func (st *Stream) Run(ctx context.Context, send func([]store.SlackEvent) error, keepalive func() error) error {
	o := st.s.streams
	tick := time.NewTicker(o.poll)
	defer tick.Stop()
	quiet := st.s.now()
	for {
		n, err := st.pump(ctx, send)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return err
		case n > 0:
			quiet = st.s.now()
		case st.s.now().Sub(quiet) >= o.keepalive:
			if err := keepalive(); err != nil {
				return err
			}
			quiet = st.s.now()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-o.ended:
			return nil
		case <-tick.C:
		}
	}
}

// pump sends every event ready, and says how many.
func (st *Stream) pump(ctx context.Context, send func([]store.SlackEvent) error) (int, error) {
	n := 0
	for {
		evs, more, err := st.next(ctx)
		if err != nil {
			return n, err
		}
		if len(evs) > 0 {
			if err := send(seenBy(st.p, evs)); err != nil {
				return n, err
			}
			n += len(evs)
		}
		if !more {
			return n, nil
		}
	}
}

// next reads the stream's next events: those after its place and before
// the end of what is settled; more says a full batch was read.
func (st *Stream) next(ctx context.Context) (evs []store.SlackEvent, more bool, err error) {
	end, err := st.s.settled(ctx, st.p.Org.ID)
	if err != nil {
		return nil, false, err
	}
	evs, err = st.s.store.ScanSlackEvents(ctx, st.p.Org.ID, store.SlackEventScan{SlackEventFilter: st.sight,
		After: st.from, AfterIncluded: st.fromIncluded, Before: end, Limit: streamBatch})
	if err != nil {
		return nil, false, err
	}
	if len(evs) == streamBatch {
		st.from, st.fromIncluded = evs[len(evs)-1].Key(), false
		return evs, true, nil
	}
	// Everything before end is read. The end moves back when an event
	// received earlier is still to be processed: the place never does.
	if less(st.from, end) {
		st.from, st.fromIncluded = end, true
	}
	return evs, false, nil
}

// settled is the end of the organization's events that a stream may send
// now, left out: its first event not processed yet, or the events received
// StreamSettle ago, whichever comes first.
func (s *Service) settled(ctx context.Context, orgID string) (store.SlackEventKey, error) {
	end := store.SlackEventKey{ReceivedAt: s.now().Add(-s.streams.settle).UTC().Truncate(time.Millisecond)}
	first, err := s.store.FirstUnprocessedSlackEvent(ctx, orgID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return end, nil
	case err != nil:
		return store.SlackEventKey{}, err
	case less(first, end):
		return first, nil
	}
	return end, nil
}

// less orders two places in the order of receipt. (Event IDs are ASCII
// letters, digits and one underscore, all at the same places, which every
// collation of the databases orders as Go does.)
func less(a, b store.SlackEventKey) bool {
	if !a.ReceivedAt.Equal(b.ReceivedAt) {
		return a.ReceivedAt.Before(b.ReceivedAt)
	}
	return a.ID < b.ID
}

// streamOptions are the streams' timings, and the signal that ends them.
type streamOptions struct {
	poll, settle, keepalive time.Duration
	ended                   chan struct{}
	end                     func()
}

func newStreamOptions(o Options) streamOptions {
	or := func(d, def time.Duration) time.Duration {
		if d <= 0 {
			return def
		}
		return d
	}
	ended := make(chan struct{})
	return streamOptions{poll: or(o.StreamPoll, DefaultStreamPoll), settle: or(o.StreamSettle, DefaultStreamSettle),
		keepalive: or(o.StreamKeepalive, DefaultStreamKeepalive), ended: ended, end: gosync.OnceFunc(func() { close(ended) })}
}

// EndStreams ends every stream, running and to come: serve's shutdown
// calls it so that streams do not hold the shutdown up. Their readers
// reconnect, to another replica or this one started again, and go on
// where they were.
func (s *Service) EndStreams() { s.streams.end() }
