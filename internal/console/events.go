package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/eventstream"
	"github.com/connhub/connhub/internal/store"
)

// ---- the Slack events the hub received ----

// The Events page lists the newest events the person may see (internal/events
// decides which), filtered by instance and type; static/events.js adds the
// ones that come after, live, from /events/stream: the same server-sent
// events as the API's /v1/events/stream, authenticated by the session.

type eventsView struct {
	Instances []store.Instance // to filter by
	Instance  string           // the instance filtered by
	Type      string           // the type filtered by
	Events    []eventRow
	// Stream is the URL of the live stream that goes on after the events
	// shown; Names maps instance IDs to names, as JSON, for the script.
	Stream string
	Names  string
}

type eventRow struct {
	store.SlackEvent
	Instances []store.Instance // those it was routed to (a name and an ID each)
	JSON      string           // the envelope, indented
}

// eventsShown is how many events the page lists.
const eventsShown = 50

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, req *request) {
	q := r.URL.Query()
	v := eventsView{Instance: q.Get("instance"), Type: strings.TrimSpace(q.Get("type"))}
	f := events.Filter{}
	if v.Instance != "" {
		f.InstanceIDs = []string{v.Instance}
	}
	if v.Type != "" {
		f.Types = []string{v.Type}
	}
	evs, after, err := c.o.Events.Recent(r.Context(), req.p, f, eventsShown)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	// The instances, for names and the filter; a token that may not list
	// them sees their IDs.
	names := map[string]string{}
	if list, _, err := c.o.Instances.List(r.Context(), req.p, store.InstanceFilter{}, store.Page{Limit: store.MaxPage}); err == nil {
		v.Instances = list
		for _, in := range list {
			names[in.ID] = in.Name
		}
	} else if _, _, ok := problem(err); !ok {
		c.internal(w, r, req, err)
		return
	}
	for _, e := range evs {
		row := eventRow{SlackEvent: e, JSON: indent(e.Body)}
		for _, id := range e.InstanceIDs {
			row.Instances = append(row.Instances, store.Instance{ID: id, Name: names[id]})
		}
		v.Events = append(v.Events, row)
	}
	sq := url.Values{"after": {after}}
	if v.Instance != "" {
		sq.Set("instance_id", v.Instance)
	}
	if v.Type != "" {
		sq.Set("type", v.Type)
	}
	v.Stream = "/events/stream?" + sq.Encode()
	b, _ := json.Marshal(names)
	v.Names = string(b)
	p := c.view(req, "events", "Events", v)
	p.Script = "events.js"
	c.render(w, r, http.StatusOK, "events", p)
}

// eventStream serves the live events of the page, as the API serves
// /v1/events/stream, to the signed-in person.
func (c *Console) eventStream(w http.ResponseWriter, r *http.Request, req *request) {
	q := r.URL.Query()
	after := r.Header.Get("Last-Event-ID") // a browser's reconnection
	if after == "" {
		after = q.Get("after")
	}
	st, err := c.o.Events.Stream(r.Context(), req.p, events.StreamInput{Filter: events.Filter{InstanceIDs: q["instance_id"], Types: q["type"]}, After: after})
	if err != nil {
		status, msg, ok := problem(err)
		if !ok {
			c.o.Log.Error("console: an event stream", "request_id", requestID(r), "err", err)
			status, msg = http.StatusInternalServerError, "connhub failed to answer; the request ID is "+requestID(r)
		}
		http.Error(w, msg, status)
		return
	}
	eventstream.Serve(w, r, st, c.o.Log)
}

// indent is JSON indented for people, or as it is when it is not JSON.
func indent(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}
