package connhub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/pkg/connhub"
)

// streamingHub answers GET /v1/events/stream with each of its answers in
// turn: the messages of a stream (each written and flushed), then the
// stream ends, or cuts the connection when cut; or an HTTP status. It keeps
// where each request asked to go on from.
type streamingHub struct {
	mu      sync.Mutex
	answers []streamAnswer
	asked   []string // each request's after parameter
}

type streamAnswer struct {
	messages []string
	cut      bool
	status   int
}

func (h *streamingHub) serve(t *testing.T) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		n := len(h.asked)
		h.asked = append(h.asked, r.URL.Query().Get("after"))
		a := h.answers[min(n, len(h.answers)-1)]
		h.mu.Unlock()
		if a.status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			fmt.Fprintf(w, `{"code":"status_%d","message":"answered %d"}`, a.status, a.status)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, m := range a.messages {
			io.WriteString(w, m)
			w.(http.Flusher).Flush()
		}
		if a.cut {
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(ts.Close)
	return ts
}

func event(id string) string {
	return fmt.Sprintf("id: %s\nevent: slack_event\ndata: {\"id\":%q,\"event_id\":\"Ev%s\",\"type\":\"user_change\"}\n\n", id, id, id)
}

// TestFollowEvents: a stream lost (ended by the hub, cut, or a 503) is
// connected again from the last event handed on, or from where it started
// when none was; a refusal for good ends the following.
func TestFollowEvents(t *testing.T) {
	t.Parallel()
	h := &streamingHub{answers: []streamAnswer{
		{messages: []string{"retry: 1\n\n", "id: since_5\n\n"}},                                            // started, no event, ended
		{messages: []string{"retry: 1\n\n", ": keepalive\n\n", event("evt_1"), event("evt_2")}, cut: true}, // two events, cut
		{status: http.StatusServiceUnavailable},                                                            // restarting
		{messages: []string{"retry: 1\n\n", event("evt_3")}},                                               // one more, ended
		{status: http.StatusUnauthorized},                                                                  // refused for good
	}}
	ts := h.serve(t)
	var got []string
	var lost []error
	err := connhub.New(ts.URL, "chub_x").FollowEvents(context.Background(), connhub.FollowOptions{
		OnReconnect: func(err error, _ time.Duration) { lost = append(lost, err) },
	}, func(e connhub.SlackEvent) error { got = append(got, e.ID); return nil })
	if e := (*connhub.Error)(nil); !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
		t.Errorf("FollowEvents ended with %v, want the 401", err)
	}
	if !slices.Equal(got, []string{"evt_1", "evt_2", "evt_3"}) {
		t.Errorf("events handed on: %v, want evt_1, evt_2, evt_3 once each", got)
	}
	if want := []string{"", "since_5", "evt_2", "evt_2", "evt_3"}; !slices.Equal(h.asked, want) {
		t.Errorf("each connection went on from %q, want %q", h.asked, want)
	}
	var e *connhub.Error
	if len(lost) != 4 || lost[0] != io.EOF || !errors.Is(lost[1], connhub.ErrStreamBroken) || !errors.As(lost[2], &e) || e.Status != http.StatusServiceUnavailable || lost[3] != io.EOF {
		t.Errorf("OnReconnect was told %v; want the end, the cut, the 503 and the end", lost)
	}
}
