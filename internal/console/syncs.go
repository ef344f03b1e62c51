package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/connhub/connhub/internal/query"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
)

// ---- sync status ----

type syncsView struct {
	Instance store.Instance
	Runs     []sync.Run
	Run      *sync.Run // the run shown in detail: ?run=, or the newest
	Streams  []streamRow
	Live     bool // the shown run is queued or running: the page reloads itself
}

// streamRow is one stream of the shown run.
type streamRow struct {
	Name string
	sync.StreamProgress
}

// runsShown is how many runs the status page lists.
const runsShown = 10

func (c *Console) syncsPage(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	in, err := c.o.Instances.Get(r.Context(), req.p, id)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	runs, _, err := c.o.Syncs.List(r.Context(), req.p, id, store.Page{Limit: runsShown})
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	v := syncsView{Instance: in, Runs: runs}
	if want := r.URL.Query().Get("run"); want != "" {
		run, err := c.o.Syncs.Get(r.Context(), req.p, id, want)
		if err != nil {
			c.fail(w, r, req, err)
			return
		}
		v.Run = &run
	} else if len(runs) > 0 {
		v.Run = &runs[0]
	}
	if v.Run != nil {
		// In the order the run lists its streams: the catalog's.
		for _, name := range v.Run.Streams {
			v.Streams = append(v.Streams, streamRow{Name: name, StreamProgress: v.Run.State[name]})
		}
		// Stalled and interrupted runs have not ended: they resume by themselves.
		v.Live = v.Run.Status == store.RunQueued || v.Run.Status == store.RunRunning || v.Run.Status == store.RunInterrupted || v.Run.Status == sync.RunStalled
	}
	p := c.view(req, "instances", "Syncs of "+in.Name, v)
	if v.Live {
		p.Refresh = 3
	}
	c.render(w, r, http.StatusOK, "syncs", p)
}

// startSync queues a sync of the default streams.
func (c *Console) startSync(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	run, err := c.o.Syncs.Start(r.Context(), req.p, id, sync.StartInput{Streams: splitTags(r.PostFormValue("streams"))})
	if err != nil {
		c.actionFailed(w, r, req, err, instancePath(id)+"/syncs")
		return
	}
	c.flashAndGo(w, r, req, true, fmt.Sprintf("Sync %s queued: %s.", run.ID, strings.Join(run.Streams, ", ")), instancePath(id)+"/syncs?run="+url.QueryEscape(run.ID))
}

// ---- records ----

type recordsView struct {
	Instance       store.Instance
	Streams        []sync.StreamInfo
	Stream         sync.StreamInfo
	Where          string
	IncludeDeleted bool
	Records        []recordRow
	Next           string // the URL of the next page, "" at the end
	Asked          bool   // a stream was chosen
}

type recordRow struct {
	store.Record
	JSON string // the data, indented
}

// recordsShown is how many records a page of the browser shows.
const recordsShown = 50

func (c *Console) recordsPage(w http.ResponseWriter, r *http.Request, req *request) {
	id := r.PathValue("id")
	in, err := c.o.Instances.Get(r.Context(), req.p, id)
	if err != nil {
		c.fail(w, r, req, err)
		return
	}
	q := r.URL.Query()
	v := recordsView{Instance: in, Streams: sync.Streams(), Where: q.Get("where"), IncludeDeleted: q.Get("include_deleted") == "on"}
	name := q.Get("stream")
	if name == "" {
		c.render(w, r, http.StatusOK, "records", c.view(req, "instances", "Records of "+in.Name, v))
		return
	}
	v.Asked = true
	i := slices.IndexFunc(v.Streams, func(s sync.StreamInfo) bool { return s.Name == name })
	if i < 0 {
		c.recordsProblem(w, r, req, v, fmt.Sprintf("There is no stream %q.", name))
		return
	}
	v.Stream = v.Streams[i]
	where, err := query.ParseFor(v.Where, v.Stream.Types)
	if err != nil {
		var se *query.SyntaxError
		if errors.As(err, &se) {
			c.recordsProblem(w, r, req, v, fmt.Sprintf("The where condition is wrong at position %d: %s.", se.Pos, se.Msg))
			return
		}
		c.recordsProblem(w, r, req, v, "The where condition is wrong: "+err.Error())
		return
	}
	for _, f := range query.Fields(where) {
		if !f.Meta && !slices.Contains(v.Stream.Fields, f.Path[0]) {
			c.recordsProblem(w, r, req, v, fmt.Sprintf("The stream %s has no field %s; its fields are %s.", name, f.Path[0], strings.Join(v.Stream.Fields, ", ")))
			return
		}
	}
	cursor := q.Get("cursor")
	recs, next, err := c.o.Syncs.QueryRecords(r.Context(), req.p, id, name, store.RecordQuery{Where: where, IncludeDeleted: v.IncludeDeleted,
		Page: store.Page{After: cursor, Limit: recordsShown}})
	switch {
	case errors.Is(err, query.ErrInvalid):
		c.recordsProblem(w, r, req, v, "The query cannot be run: "+strings.TrimPrefix(err.Error(), "query: "))
		return
	case err != nil:
		c.fail(w, r, req, err)
		return
	}
	for _, rec := range recs {
		var buf bytes.Buffer
		if json.Indent(&buf, rec.Data, "", "  ") != nil {
			buf.Reset()
			buf.Write(rec.Data)
		}
		v.Records = append(v.Records, recordRow{Record: rec, JSON: buf.String()})
	}
	if next != "" {
		nq := url.Values{"stream": {name}, "where": {v.Where}, "cursor": {next}}
		if v.IncludeDeleted {
			nq.Set("include_deleted", "on")
		}
		v.Next = instancePath(id) + "/records?" + nq.Encode()
	}
	c.render(w, r, http.StatusOK, "records", c.view(req, "instances", "Records of "+in.Name, v))
}

func (c *Console) recordsProblem(w http.ResponseWriter, r *http.Request, req *request, v recordsView, msg string) {
	p := c.view(req, "instances", "Records of "+v.Instance.Name, v)
	p.Error = msg
	c.render(w, r, http.StatusBadRequest, "records", p)
}
