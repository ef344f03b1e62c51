package eventstream

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// SlackEvent is an event of Slack's Events API as connhub received it.
type SlackEvent struct {
	ID           string    `json:"id" doc:"connhub's ID (evt_…): ordered by receipt; the webhook-id of its deliveries"`
	EventID      string    `json:"event_id" doc:"Slack's (Ev…)"`
	Type         string    `json:"type"`
	TeamID       string    `json:"team_id,omitempty"`
	EnterpriseID string    `json:"enterprise_id,omitempty"`
	EventTime    time.Time `json:"event_time"`
	ReceivedAt   time.Time `json:"received_at"`
	Deliveries   int       `json:"deliveries" doc:"How many times Slack delivered it (its retries)"`
	Status       string    `json:"status" enum:"received,processed,unrouted,failed"`
	Error        string    `json:"error,omitempty"`
	InstanceIDs  []string  `json:"instance_ids" doc:"The instances it was routed to, of those the caller may know of: none before it is processed, nor when no instance has its workspace"`
	// Envelope is Slack's envelope as it came, less its verification token.
	Envelope json.RawMessage `json:"envelope" doc:"Slack's envelope as it came, less its verification token"`
}

// View is the wire shape of a kept event.
func View(e store.SlackEvent) SlackEvent {
	ins := e.InstanceIDs
	if ins == nil {
		ins = []string{}
	}
	return SlackEvent{ID: e.ID, EventID: e.EventID, Type: e.Type, TeamID: e.TeamID, EnterpriseID: e.EnterpriseID, EventTime: e.EventTime,
		ReceivedAt: e.ReceivedAt, Deliveries: e.Deliveries, Status: e.Status, Error: e.Error, InstanceIDs: ins, Envelope: e.Body}
}

// Name is the event field of every message: slack_event.
const Name = "slack_event"

// Retry is how long a browser waits before it reconnects a stream that
// ended (the retry field).
const Retry = 2 * time.Second

// Serve answers with st as server-sent events until the reader goes away
// (r's context ends) or the stream ends. The headers and the retry field go
// at once, so that the reader knows it is connected before any event.
func Serve(w http.ResponseWriter, r *http.Request, st *events.Stream, log *slog.Logger) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each message on as it comes
	w.WriteHeader(http.StatusOK)
	sw := &writer{buf: bufio.NewWriter(w), rc: http.NewResponseController(w)}
	fmt.Fprintf(sw.buf, "retry: %d\n\n", Retry.Milliseconds())
	if start := st.Start(); start != "" {
		// An id without data: where the reader goes on from, should it
		// reconnect before its first event.
		fmt.Fprintf(sw.buf, "id: %s\n\n", start)
	}
	if sw.flush() != nil {
		return
	}
	err := st.Run(r.Context(), sw.events, sw.keepalive)
	if err != nil && r.Context().Err() == nil {
		log.Warn("eventstream: a stream broke off; its reader reconnects", "request_id", tenant.RequestID(r.Context()), "err", err)
	}
}

// writer writes messages and comments, flushing each batch.
type writer struct {
	buf *bufio.Writer
	rc  *http.ResponseController
}

func (w *writer) events(evs []store.SlackEvent) error {
	for _, e := range evs {
		data, err := json.Marshal(View(e))
		if err != nil {
			return err
		}
		// JSON has no raw newlines: the data is one data line.
		fmt.Fprintf(w.buf, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, Name, data)
	}
	return w.flush()
}

func (w *writer) keepalive() error {
	w.buf.WriteString(": keepalive\n\n")
	return w.flush()
}

func (w *writer) flush() error {
	if err := w.buf.Flush(); err != nil {
		return err
	}
	if err := w.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
