package connhub

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SlackEvent is an event of Slack's Events API as the hub received it.
type SlackEvent struct {
	ID           string    `json:"id"`       // the hub's (evt_…), ordered by receipt
	EventID      string    `json:"event_id"` // Slack's (Ev…)
	Type         string    `json:"type"`
	TeamID       string    `json:"team_id,omitempty"`
	EnterpriseID string    `json:"enterprise_id,omitempty"`
	EventTime    time.Time `json:"event_time"`
	ReceivedAt   time.Time `json:"received_at"`
	Deliveries   int       `json:"deliveries"` // how many times Slack delivered it
	Status       string    `json:"status"`     // received, processed, unrouted or failed
	Error        string    `json:"error,omitempty"`
	// InstanceIDs are the instances it was routed to, of those the caller
	// may know of.
	InstanceIDs []string        `json:"instance_ids"`
	Envelope    json.RawMessage `json:"envelope"` // Slack's envelope, less its verification token
}

// SlackEventPage is one page of an instance's events.
type SlackEventPage struct {
	Events     []SlackEvent `json:"events"`
	NextCursor string       `json:"next_cursor"`
}

// EventFilter narrows ListInstanceEvents; zero fields do not filter.
type EventFilter struct {
	Type  string    // user_change, message, …
	Since time.Time // received at or after
}

// ListInstanceEvents returns one page of the Slack events an instance
// received, in order of receipt (GET /v1/instances/{id}/events).
func (c *Client) ListInstanceEvents(ctx context.Context, instanceID string, f EventFilter, opts ListOptions) (SlackEventPage, error) {
	var out SlackEventPage
	if err := needID("instance", instanceID); err != nil {
		return out, err
	}
	q := url.Values{}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	err := c.do(ctx, http.MethodGet, "/v1/instances/"+pathID(instanceID)+"/events", pageQuery(q, opts.Cursor, opts.Limit), nil, &out)
	return out, err
}

// AllInstanceEvents iterates over every event of the instance that f
// selects, in order of receipt. It stops at the first error, which it
// yields.
func (c *Client) AllInstanceEvents(ctx context.Context, instanceID string, f EventFilter) iter.Seq2[SlackEvent, error] {
	return all(ctx, ListOptions{Limit: 1000}, func(ctx context.Context, o ListOptions) ([]SlackEvent, string, error) {
		p, err := c.ListInstanceEvents(ctx, instanceID, f, o)
		return p.Events, p.NextCursor, err
	})
}

// StreamOptions say which events a stream carries and where it starts.
type StreamOptions struct {
	InstanceIDs []string // only the events routed to these instances; none: every instance the caller may read
	Types       []string // only the events of these types; none: every type
	// LastEventID goes on from where a reader was: an EventStream's
	// LastEventID. Since is then not used.
	LastEventID string
	// Since starts a new stream with the events received at or after it;
	// zero: from now.
	Since time.Time
}

// StreamEvents opens a stream of the Slack events the caller may see, as
// the hub processes them, in order of receipt (GET /v1/events/stream,
// server-sent events). Read it with Next and close it. A stream is not
// bound by the http.Client's Timeout: ctx bounds it. FollowEvents
// reconnects by itself.
func (c *Client) StreamEvents(ctx context.Context, opts StreamOptions) (*EventStream, error) {
	q := url.Values{}
	for _, id := range opts.InstanceIDs {
		q.Add("instance_id", id)
	}
	for _, t := range opts.Types {
		q.Add("type", t)
	}
	if opts.LastEventID != "" {
		q.Set("after", opts.LastEventID)
	} else if !opts.Since.IsZero() {
		q.Set("since", opts.Since.UTC().Format(time.RFC3339Nano))
	}
	const path = "/v1/events/stream"
	resp, err := c.send(ctx, c.untimed(), http.MethodGet, path, q, nil, "text/event-stream, application/json")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return nil, notStreamed(resp, path)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxBody)
	return &EventStream{ctx: ctx, resp: resp, lines: sc, last: opts.LastEventID}, nil
}

// ErrStreamBroken is the error Next wraps when the connection broke in the
// middle of a stream.
var ErrStreamBroken = errors.New("connhub: the event stream broke off")

// EventStream reads a stream of events as it comes. It is not safe for
// concurrent use.
type EventStream struct {
	ctx   context.Context
	resp  *http.Response
	lines *bufio.Scanner
	last  string
	retry time.Duration
}

// Next returns the next event. It returns io.EOF when the hub ended the
// stream (it shut down: reconnect, to it or another replica, with
// LastEventID), ctx's error when ctx ended, and another error when the
// connection broke.
func (s *EventStream) Next() (SlackEvent, error) {
	var id, event string
	var data strings.Builder
	for s.lines.Scan() {
		line := s.lines.Text()
		if line == "" {
			// The end of a message: an id without data is a place to go
			// on from, not an event.
			if id != "" {
				s.last = id
			}
			if event == "slack_event" && data.Len() > 0 {
				var e SlackEvent
				if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
					return SlackEvent{}, fmt.Errorf("connhub: an event of the stream is not the JSON connhub sends: %w", err)
				}
				return e, nil
			}
			id, event = "", ""
			data.Reset()
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "event":
			event = value
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms >= 0 {
				s.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	switch err := s.lines.Err(); {
	case s.ctx.Err() != nil:
		return SlackEvent{}, s.ctx.Err()
	case err != nil:
		return SlackEvent{}, fmt.Errorf("%w: %v", ErrStreamBroken, err)
	}
	return SlackEvent{}, io.EOF
}

// LastEventID is where the reader is: the ID of the last event Next
// returned, or before any, where the hub started the stream. A stream
// opened with it as StreamOptions.LastEventID goes on from there, missing
// nothing and repeating nothing.
func (s *EventStream) LastEventID() string { return s.last }

// Retry is how long the hub asks a reader to wait before it reconnects; 0
// when it did not say.
func (s *EventStream) Retry() time.Duration { return s.retry }

// RequestID is the stream request's ID (X-Request-Id), for the hub's logs.
func (s *EventStream) RequestID() string { return s.resp.Header.Get("X-Request-Id") }

// Close ends the stream.
func (s *EventStream) Close() error { return s.resp.Body.Close() }

// FollowOptions tune FollowEvents.
type FollowOptions struct {
	StreamOptions
	// OnReconnect, if set, is told why the stream was lost and how long
	// FollowEvents waits before it connects again.
	OnReconnect func(err error, wait time.Duration)
}

// followMaxWait bounds the wait between failed connections.
const followMaxWait = 30 * time.Second

// FollowEvents hands the events of a stream to fn, in order, and when the
// stream is lost (the hub shut down or restarted, the network broke, an
// answer 429 or 5xx) connects again, after the wait the hub asked for
// (twice as long after each connection that fails, up to 30 seconds),
// going on from the last event fn was given: fn misses none and gets none
// twice. It returns when ctx ends (ctx's error), when fn returns an error
// (that error), or when the hub refuses the stream for good (an *Error:
// the credentials, a filter, an instance that is not there).
func (c *Client) FollowEvents(ctx context.Context, opts FollowOptions, fn func(SlackEvent) error) error {
	so := opts.StreamOptions
	retry := 2 * time.Second // until the hub says otherwise
	var wait time.Duration
	for {
		s, err := c.StreamEvents(ctx, so)
		if err == nil {
			for {
				var e SlackEvent
				if e, err = s.Next(); err != nil {
					break
				}
				if err := fn(e); err != nil {
					s.Close()
					return err
				}
			}
			if s.LastEventID() != "" {
				so.LastEventID = s.LastEventID()
			}
			if s.Retry() > 0 {
				retry = s.Retry()
			}
			wait = retry
			s.Close()
		} else {
			wait = min(max(2*wait, retry), followMaxWait)
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != io.EOF && !transient(err) && !errors.Is(err, ErrStreamBroken):
			return err
		}
		if opts.OnReconnect != nil {
			opts.OnReconnect(err, wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
