package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/query"
	"github.com/connhub/connhub/internal/safecsv"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
)

// The records routes read what syncs wrote: a page at a time, filtered by
// internal/query's where language, projected to some fields, in any order;
// or all of a stream at once, streamed as JSON lines or CSV.

// Record is one record of a stream.
type Record struct {
	Key             string          `json:"key" example:"U0123ABCD" doc:"The record's natural key (the stream's key)"`
	TeamID          string          `json:"team_id" doc:"The workspace it belongs to"`
	Data            json.RawMessage `json:"data" doc:"The object as Slack sent it, or as connhub derived it; only the fields asked for when fields is given"`
	SourceUpdatedAt *time.Time      `json:"source_updated_at,omitempty" doc:"The object's own last update, when it has one"`
	FirstSeenAt     time.Time       `json:"first_seen_at" doc:"When a sync first stored it"`
	LastSeenAt      time.Time       `json:"last_seen_at" doc:"When a sync last saw it"`
	DeletedAt       *time.Time      `json:"deleted_at,omitempty" doc:"When it vanished from Slack; absent while it is live"`
}

// exportPage is how many records an export reads from the store at a time.
var exportPage = store.MaxPage

// exportTrailer is the trailer that declares an export complete.
const exportTrailer = "Connhub-Export-Records"

// StreamPath names an instance's stream. (Types embedded in inputs are
// exported: huma skips the fields of unexported ones.)
type StreamPath struct {
	IDPath
	Stream string `path:"stream" maxLength:"100" doc:"A stream's name (GET /v1/streams)"`
}

// RecordFilter are the parameters that choose records, for queries and
// exports alike.
type RecordFilter struct {
	Where  string `query:"where" example:"is_admin = true AND deleted = false" doc:"A condition in connhub's query language: fields of the record's data (profile.email) or meta fields (_key, _team_id, _first_seen_at, _last_seen_at, _source_updated_at, _deleted_at), compared with =, !=, <, <=, >, >=, LIKE, IN, HAS (an array holds a value: user_ids HAS 'U123') or IS NULL and joined by AND, OR, NOT and parentheses; strings in single quotes"`
	Fields string `query:"fields" example:"id,name,profile.email" doc:"Comma-separated fields of the data to keep (default all); a path keeps that part of an object"`
	TeamID string `query:"team_id" doc:"Only the records of this workspace"`
	// IncludeDeleted also returns records that vanished from Slack.
	IncludeDeleted bool `query:"include_deleted" doc:"Also the records that vanished from Slack (they carry deleted_at)"`
}

type recordsOutput struct {
	Body struct {
		Stream  string   `json:"stream"`
		Records []Record `json:"records"`
		Page
	}
}

type exportOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	CacheControl       string `header:"Cache-Control"`
	Trailer            string `header:"Trailer" doc:"Connhub-Export-Records: the trailer that declares the export complete"`
	Body               func(huma.Context)
}

// selection is what a records request asks for, read and checked against the
// stream.
type selection struct {
	stream sync.StreamInfo
	where  query.Expr
	fields []query.Field // nil: every field
	order  []query.Order
}

// selectRecords reads the stream, where, fields and order_by of a request.
// Its errors are the API's answers.
func selectRecords(stream, where, fields, orderBy string) (selection, error) {
	var sel selection
	all := sync.Streams()
	i := slices.IndexFunc(all, func(s sync.StreamInfo) bool { return s.Name == stream })
	if i < 0 {
		names := make([]string, len(all))
		for i, s := range all {
			names[i] = s.Name
		}
		return sel, &apiError{status: http.StatusBadRequest, Code: "unknown_stream",
			Message: fmt.Sprintf("there is no stream %q; the streams are %s", stream, strings.Join(names, ", "))}
	}
	sel.stream = all[i]
	var err error
	if sel.where, err = query.ParseFor(where, sel.stream.Types); err != nil {
		return sel, syntaxError("invalid_where", "where", err)
	}
	if sel.fields, err = query.ParseFields(fields); err != nil {
		return sel, syntaxError("invalid_fields", "fields", err)
	}
	if sel.order, err = parseOrder(orderBy); err != nil {
		return sel, syntaxError("invalid_order_by", "order_by", err)
	}
	check := func(param string, fs []query.Field) error {
		for _, f := range fs {
			if !f.Meta && !slices.Contains(sel.stream.Fields, f.Path[0]) {
				return &apiError{status: http.StatusBadRequest, Code: "unknown_field",
					Message: fmt.Sprintf("%s names %q, but the stream %s has no field %s; its fields are %s, and the meta fields %s",
						param, f.Name(), stream, f.Path[0], strings.Join(sel.stream.Fields, ", "), strings.Join(metaFields, ", "))}
			}
		}
		return nil
	}
	var ordered []query.Field
	for _, o := range sel.order {
		ordered = append(ordered, o.Field)
	}
	if err := check("where", query.Fields(sel.where)); err != nil {
		return sel, err
	}
	if err := check("fields", sel.fields); err != nil {
		return sel, err
	}
	return sel, check("order_by", ordered)
}

var metaFields = []string{query.MetaKey, query.MetaTeamID, query.MetaFirstSeenAt, query.MetaLastSeenAt, query.MetaSourceUpdatedAt, query.MetaDeletedAt}

// syntaxError answers an expression that does not parse, saying where.
func syntaxError(code, param string, err error) error {
	var se *query.SyntaxError
	if errors.As(err, &se) {
		return &apiError{status: http.StatusBadRequest, Code: code, Position: se.Pos,
			Message: fmt.Sprintf("%s is wrong at position %d: %s", param, se.Pos, se.Msg)}
	}
	return &apiError{status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf("%s is wrong: %v", param, err)}
}

// parseOrder reads an order_by, where "-field" is "field DESC" too. The
// minus is blanked out rather than cut, so that positions in errors are the
// caller's.
func parseOrder(src string) ([]query.Order, error) {
	b := []byte(src)
	var desc []bool
	for start := 0; start <= len(b); {
		end := bytes.IndexByte(b[start:], ',')
		if end < 0 {
			end = len(b)
		} else {
			end += start
		}
		item := b[start:end]
		j := len(item) - len(bytes.TrimLeft(item, " \t\r\n"))
		minus := j < len(item) && item[j] == '-'
		if minus {
			item[j] = ' '
		}
		desc = append(desc, minus)
		start = end + 1
	}
	order, err := query.ParseOrder(string(b))
	if err != nil || len(order) != len(desc) {
		return order, err
	}
	for i := range order {
		order[i].Desc = order[i].Desc || desc[i]
	}
	return order, nil
}

// badQuery answers a query the store could not run because of what the
// caller asked (query.ErrInvalid): most often a cursor of another query.
func (a *API) badQuery(ctx context.Context, err error, cursor string) error {
	switch {
	case !errors.Is(err, query.ErrInvalid):
		return a.fail(ctx, err)
	case cursor != "":
		return &apiError{status: http.StatusBadRequest, Code: "invalid_cursor",
			Message: "the cursor is not one this query returned: pass the next_cursor of the previous page, with the same where and order_by"}
	}
	return &apiError{status: http.StatusBadRequest, Code: "invalid_where", Message: "the query cannot be run: " + err.Error()}
}

func (a *API) recordRoutes() {
	tags := []string{"Records"}
	huma.Register(a.huma, guarded(authz.ReadRecords, huma.Operation{OperationID: "query-records", Method: http.MethodGet, Path: "/v1/instances/{id}/records/{stream}",
		Summary: "Query a stream's records",
		Description: "One page of the records syncs wrote, those where selects, in order_by's order (then by key). " +
			"A where that does not parse, or compares a field with a value of another type (billable = 'true'), is 400 invalid_where, with the position of the trouble; a field the stream does not have is 400 unknown_field, " +
			"naming those it has. Pass next_cursor as cursor, with the same where and order_by, for the next page.", Tags: tags}),
		func(ctx context.Context, in *struct {
			StreamPath
			RecordFilter
			OrderBy  string `query:"order_by" example:"real_name desc,id" doc:"Comma-separated fields to sort by, each ascending unless followed by desc or preceded by -; ties are broken by key"`
			PageSize int    `query:"page_size" minimum:"1" maximum:"1000" default:"100" doc:"Records per page"`
			Cursor   string `query:"cursor" doc:"The next_cursor of the previous page"`
		}) (*recordsOutput, error) {
			sel, err := selectRecords(in.Stream, in.Where, in.Fields, in.OrderBy)
			if err != nil {
				return nil, err
			}
			recs, next, err := a.o.Syncs.QueryRecords(ctx, principal(ctx), in.ID, in.Stream, store.RecordQuery{Where: sel.where, OrderBy: sel.order,
				TeamID: in.TeamID, IncludeDeleted: in.IncludeDeleted, Page: store.Page{After: in.Cursor, Limit: in.PageSize}})
			if err != nil {
				return nil, a.badQuery(ctx, err, in.Cursor)
			}
			out := &recordsOutput{}
			out.Body.Stream, out.Body.Records, out.Body.NextCursor = in.Stream, make([]Record, len(recs)), next
			for i, r := range recs {
				out.Body.Records[i] = recordView(r, sel.fields)
			}
			return out, nil
		})

	recordSchema := a.huma.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[Record](), true, "Record")
	huma.Register(a.huma, guarded(authz.ExportRecords, huma.Operation{OperationID: "export-records", Method: http.MethodGet, Path: "/v1/instances/{id}/records/{stream}/export",
		Summary: "Export a stream's records",
		Description: "Every record where selects, in key order, streamed as it is read from the store a page at a time: JSON lines (one record a line), " +
			"or CSV (a header row _key,_team_id,<fields>,_deleted_at, then a row per record, nested values as JSON; the record's own columns start with _ as in where, so that a Slack field such as team_id or deleted has its own). " +
			"In CSV, a cell that begins with =, +, -, @, a tab or a carriage return is written with a single quote (') before it, " +
			"so that a spreadsheet shows it as text and never runs it as a formula (OWASP's advice against CSV injection): " +
			"=HYPERLINK(…) is exported as '=HYPERLINK(…), and -5 as '-5. " +
			"After the last record the trailer " + exportTrailer + " says how many records were written; an export that breaks off has none " +
			"(and its connection is cut), so a client that finds no trailer knows it is truncated.",
		Tags: tags,
		Responses: map[string]*huma.Response{"200": {Description: "The records",
			Content: map[string]*huma.MediaType{
				"application/x-ndjson": {Schema: recordSchema},
				"text/csv":             {Schema: &huma.Schema{Type: "string"}},
			},
			Headers: map[string]*huma.Param{exportTrailer: {Description: "A trailer (after the body): how many records the export wrote. Absent when the export broke off.",
				Schema: &huma.Schema{Type: "integer"}}}}}}),
		func(ctx context.Context, in *struct {
			StreamPath
			RecordFilter
			Format string `query:"format" enum:"jsonl,csv" default:"jsonl" doc:"jsonl: JSON lines; csv: comma-separated values"`
		}) (*exportOutput, error) {
			sel, err := selectRecords(in.Stream, in.Where, in.Fields, "")
			if err != nil {
				return nil, err
			}
			q := store.RecordQuery{Where: sel.where, TeamID: in.TeamID, IncludeDeleted: in.IncludeDeleted, Page: store.Page{Limit: exportPage}}
			exp, err := a.o.Syncs.StartExport(ctx, principal(ctx), in.ID, in.Stream, in.Format, q)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			// The first page is read before the answer starts, so that what
			// fails at once is an ordinary error.
			first, more, err := exp.Next(ctx)
			if err != nil {
				exp.Finish(ctx, 0, true)
				return nil, a.badQuery(ctx, err, "")
			}
			out := &exportOutput{ContentType: "application/x-ndjson", CacheControl: "no-store", Trailer: exportTrailer,
				ContentDisposition: fmt.Sprintf("attachment; filename=%q", in.Stream+"."+in.Format)}
			if in.Format == "csv" {
				out.ContentType = "text/csv"
			}
			out.Body = func(hctx huma.Context) {
				_, w := humago.Unwrap(hctx)
				e := &exporter{rc: http.NewResponseController(w), buf: bufio.NewWriterSize(w, 64<<10), sel: sel}
				if in.Format == "csv" {
					e.csv = safecsv.NewWriter(e.buf)
				}
				hctx.SetStatus(http.StatusOK)
				recs := first
				for {
					if err := e.page(recs); err != nil {
						exp.Finish(ctx, e.n, true)
						return // the caller went away: nobody to tell
					}
					if !more {
						break
					}
					if recs, more, err = exp.Next(ctx); err != nil {
						a.o.Log.Error("httpapi: export broke off", "request_id", tenant.RequestID(ctx), "stream", in.Stream, "records", e.n, "err", err)
						exp.Finish(ctx, e.n, true)
						// No trailer, and a cut connection: the client knows
						// the export is not whole.
						panic(http.ErrAbortHandler)
					}
				}
				w.Header().Set(exportTrailer, strconv.FormatInt(e.n, 10))
				exp.Finish(ctx, e.n, false)
			}
			return out, nil
		})
}

// exporter writes an export a page at a time, flushing each.
type exporter struct {
	rc     *http.ResponseController
	buf    *bufio.Writer
	csv    *safecsv.Writer // nil: JSON lines
	sel    selection
	header bool
	n      int64 // records written
}

func (e *exporter) page(recs []store.Record) error {
	if e.csv != nil {
		if !e.header {
			e.header = true
			// The record's own columns are named as the where language names
			// them (_key, _team_id, _deleted_at), so that a Slack field of
			// the same name (users' team_id, deleted) has a column of its own.
			cols := []string{"_key", "_team_id"}
			for _, f := range e.columns() {
				cols = append(cols, f.Name())
			}
			e.csv.Write(append(cols, "_deleted_at"))
		}
		cols := e.columns()
		row := make([]string, 0, len(cols)+3)
		for _, r := range recs {
			d := newDoc(r.Data)
			row = append(row[:0], r.Key, r.TeamID)
			for _, f := range cols {
				row = append(row, cell(r, d, f))
			}
			row = append(row, timeCell(r.DeletedAt))
			e.csv.Write(row)
			e.n++
		}
		e.csv.Flush()
		if err := e.csv.Error(); err != nil {
			return err
		}
	} else {
		enc := json.NewEncoder(e.buf)
		enc.SetEscapeHTML(false)
		for _, r := range recs {
			if err := enc.Encode(recordView(r, e.sel.fields)); err != nil {
				return err
			}
			e.n++
		}
	}
	if err := e.buf.Flush(); err != nil {
		return err
	}
	if err := e.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// columns are the CSV's fields: those asked for, or all of the stream's.
func (e *exporter) columns() []query.Field {
	if e.sel.fields != nil {
		return e.sel.fields
	}
	out := make([]query.Field, len(e.sel.stream.Fields))
	for i, f := range e.sel.stream.Fields {
		out[i] = query.Field{Path: []string{f}}
	}
	return out
}

func recordView(r store.Record, fields []query.Field) Record {
	data := r.Data
	if fields != nil {
		data = project(newDoc(r.Data), fields)
	}
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return Record{Key: r.Key, TeamID: r.TeamID, Data: data, SourceUpdatedAt: timePtr(r.SourceUpdatedAt),
		FirstSeenAt: r.FirstSeenAt, LastSeenAt: r.LastSeenAt, DeletedAt: timePtr(r.DeletedAt)}
}

// doc is a record's data, its top level decoded once.
type doc struct {
	top map[string]json.RawMessage // nil: not an object
}

func newDoc(data json.RawMessage) doc {
	var d doc
	json.Unmarshal(data, &d.top)
	return d
}

// get finds the value at path; false where there is none.
func (d doc) get(path []string) (json.RawMessage, bool) {
	v, ok := d.top[path[0]]
	for _, seg := range path[1:] {
		if !ok {
			return nil, false
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) != nil {
			return nil, false
		}
		v, ok = obj[seg]
	}
	return v, ok
}

// project keeps the data fields listed (meta fields are the record's own),
// each path as deep as it goes: "profile.email" keeps {"profile":{"email":…}}.
// A field the record lacks is left out.
func project(d doc, fields []query.Field) json.RawMessage {
	out := map[string]any{}
	for _, f := range fields {
		if f.Meta {
			continue
		}
		v, ok := d.get(f.Path)
		if !ok {
			continue
		}
		m := out
		for _, seg := range f.Path[:len(f.Path)-1] {
			next, isMap := m[seg].(map[string]any)
			if _, whole := m[seg].(json.RawMessage); whole {
				m = nil // the whole of it is kept already
				break
			}
			if !isMap {
				next = map[string]any{}
				m[seg] = next
			}
			m = next
		}
		if m != nil {
			m[f.Path[len(f.Path)-1]] = v
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}

// cell is a field's value in a CSV row: strings as they are, numbers and
// booleans as JSON writes them, objects and arrays as JSON, null and missing
// as nothing.
func cell(r store.Record, d doc, f query.Field) string {
	if f.Meta {
		switch f.Path[0] {
		case query.MetaKey:
			return r.Key
		case query.MetaTeamID:
			return r.TeamID
		case query.MetaFirstSeenAt:
			return timeCell(r.FirstSeenAt)
		case query.MetaLastSeenAt:
			return timeCell(r.LastSeenAt)
		case query.MetaSourceUpdatedAt:
			return timeCell(r.SourceUpdatedAt)
		case query.MetaDeletedAt:
			return timeCell(r.DeletedAt)
		}
		return ""
	}
	v, ok := d.get(f.Path)
	v = bytes.TrimSpace(v)
	switch {
	case !ok || len(v) == 0 || string(v) == "null":
		return ""
	case v[0] == '"':
		var s string
		json.Unmarshal(v, &s)
		return s
	case v[0] == '{' || v[0] == '[':
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			return b.String()
		}
	}
	return string(v)
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
