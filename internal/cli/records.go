package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/pkg/connhub"
)

type recordsOptions struct {
	clientFlags
	Instance       string
	Stream         string
	Where          string
	Fields         []string
	OrderBy        []string
	Limit          int
	PageSize       int
	Team           string
	IncludeDeleted bool
}

type exportOptions struct {
	clientFlags
	Instance       string
	Stream         string
	Where          string
	Fields         []string
	Team           string
	IncludeDeleted bool
	File           string // "" or "-": stdout
	Format         string // jsonl or csv: -o
	OldFormat      string // --format, before -o was the format
}

// The table shows at most this many fields when --fields is not given, and
// cuts cells at this many characters.
const (
	defaultColumns = 5
	maxCell        = 40
)

func newRecordsCmd(io streams) *cobra.Command {
	opts := recordsOptions{}
	cmd := &cobra.Command{
		Use:   "records INSTANCE STREAM [--where EXPR] [--fields a,b] [--order-by \"x desc\"] [--limit N]",
		Short: "Query the records a sync retrieved",
		Long: "Query a stream's records (`connhub streams` lists the streams, and -o json there their fields).\n" +
			"--where filters in connhub's query language, e.g.\n" +
			"  --where 'billable = true AND active_30d = false'\n" +
			"--fields keeps those fields (profile.email: part of an object; _last_seen_at and the like: the\n" +
			"record's own); --order-by sorts by fields, each \"field\" or \"field desc\".\n" +
			"The command pages through the hub's answers until --limit records (0: every one).\n\n" +
			"-o table (the default) shows the key and the fields asked for, or a few of the stream's first\n" +
			"fields; -o json prints the records as one JSON array, -o jsonl one record a line as they come,\n" +
			"-o csv a row a record (data.<field> columns), -o yaml a YAML list; --jq filters the JSON.\n" +
			"For a whole stream, `connhub export` streams it to a file.",
		Args: exactArgs("INSTANCE", "STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instance, opts.Stream = args[0], args[1]
			return runRecords(cmd.Context(), opts, io)
		},
	}
	f := cmd.Flags()
	opts.clientFlags.register(f)
	opts.outputFlags.register(cmd, true)
	cmd.ValidArgsFunction = completeArgs(io, &opts.clientFlags, instanceIDs, streamNames)
	f.StringVar(&opts.Where, "where", "", "which records, in connhub's query language: billable = true AND active_30d = false")
	f.StringSliceVar(&opts.Fields, "fields", nil, "the fields to show, comma-separated: a path keeps part of an object (profile.email), _key and the like are the record's own (default: all; the table shows a few)")
	f.StringSliceVar(&opts.OrderBy, "order-by", nil, "sort by these fields, comma-separated, each \"field\" or \"field desc\" (default: by key)")
	f.IntVar(&opts.Limit, "limit", 100, "at most this many records (0: every one)")
	f.IntVar(&opts.PageSize, "page-size", 0, "records asked of the hub a request, 1 to 1000 (default: --limit, at most 1000)")
	f.StringVar(&opts.Team, "team", "", "only the records of this workspace (T…), on Enterprise Grid")
	f.BoolVar(&opts.IncludeDeleted, "include-deleted", false, "include the records that vanished or were deactivated")
	return cmd
}

func runRecords(ctx context.Context, opts recordsOptions, io streams) error {
	switch {
	case opts.Limit < 0:
		return usageError{fmt.Errorf("--limit %d: want 0 (every record) or more", opts.Limit)}
	case opts.PageSize < 0 || opts.PageSize > 1000:
		return usageError{fmt.Errorf("--page-size %d: want 1 to 1000", opts.PageSize)}
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	q := connhub.RecordQuery{Where: opts.Where, Fields: opts.Fields, OrderBy: opts.OrderBy, TeamID: opts.Team,
		IncludeDeleted: opts.IncludeDeleted, PageSize: opts.PageSize}
	if q.PageSize == 0 {
		q.PageSize = 1000
		if opts.Limit > 0 {
			q.PageSize = min(opts.Limit, 1000)
		}
	}
	recs := []connhub.Record{}
	more := false
	streaming := h.out.format == "jsonl" // one record a line as they come
	for {
		page, err := h.QueryRecords(ctx, opts.Instance, opts.Stream, q)
		if err != nil {
			return h.failQuery(err, map[string]string{"invalid_where": opts.Where, "invalid_order_by": strings.Join(opts.OrderBy, ","),
				"invalid_fields": strings.Join(opts.Fields, ",")})
		}
		for i, r := range page.Records {
			if opts.Limit > 0 && len(recs) == opts.Limit {
				more = true
				break
			}
			if streaming {
				if err := emitLine(io.stdout, r); err != nil {
					return err
				}
			}
			recs = append(recs, r)
			if opts.Limit > 0 && len(recs) == opts.Limit && (i < len(page.Records)-1 || page.NextCursor != "") {
				more = true
			}
		}
		if more || page.NextCursor == "" || page.NextCursor == q.Cursor {
			break
		}
		q.Cursor = page.NextCursor
	}
	switch {
	case !h.human() && !streaming:
		if err := h.emit(recs); err != nil {
			return err
		}
	case h.human():
		columns := opts.Fields
		if len(columns) == 0 {
			columns = defaultRecordColumns(recs, h.streamFields(ctx, opts.Stream))
		}
		if err := printRecords(io.stdout, recs, columns, opts.IncludeDeleted); err != nil {
			return err
		}
	}
	if more {
		fmt.Fprintf(io.stderr, "connhub: stopped at --limit %d; more records may match (--limit 0 shows every one; `connhub export` streams them)\n", opts.Limit)
	}
	return nil
}

// failQuery is fail, saying where in the expression the hub could not read
// the trouble is: sources maps the error codes to the expressions sent.
func (h *hubClient) failQuery(err error, sources map[string]string) error {
	var e *connhub.Error
	if errors.As(err, &e) && e.Position > 0 {
		if src, ok := sources[e.Code]; ok {
			if at := near(src, e.Position); at != "" {
				return fmt.Errorf("%w, %s", h.fail(err), at)
			}
		}
	}
	return h.fail(err)
}

// near quotes what an expression holds from the 1-based character position
// pos on, to point at a mistake in it.
func near(src string, pos int) string {
	r := []rune(src)
	switch {
	case pos < 1 || pos > len(r)+1:
		return ""
	case pos == len(r)+1:
		return "at the end of " + strconv.Quote(src)
	}
	rest := r[pos-1:]
	if len(rest) > 24 {
		rest = append(rest[:23:23], '…')
	}
	return "near " + strconv.Quote(string(rest))
}

// streamFields is the stream's fields in the catalog's order; nil if the
// catalog cannot say.
func (h *hubClient) streamFields(ctx context.Context, stream string) []string {
	infos, err := h.Streams(ctx)
	if err != nil {
		return nil
	}
	for _, s := range infos {
		if s.Name == stream {
			return s.Fields
		}
	}
	return nil
}

// recordFields reads a record's top-level fields; nil if its data is not
// an object.
func recordFields(r connhub.Record) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(r.Data, &m) != nil {
		return nil
	}
	return m
}

// dataOrder is the order of the fields in a record's data as the hub sent it.
func dataOrder(data json.RawMessage) []string {
	ms, _ := members(data)
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.name
	}
	return names
}

// defaultRecordColumns picks the fields a table shows when none were asked
// for: the first few of the stream's fields (the catalog's order, else the
// data's) that say something beside the key: not the key again, not nested,
// not empty in every record.
func defaultRecordColumns(recs []connhub.Record, catalog []string) []string {
	if len(recs) == 0 {
		return nil
	}
	candidates := catalog
	if len(candidates) == 0 {
		candidates = dataOrder(recs[0].Data)
	}
	rows := make([]map[string]json.RawMessage, len(recs))
	for i, r := range recs {
		rows[i] = recordFields(r)
	}
	var out []string
	for _, name := range candidates {
		informative := false
		for i, m := range rows {
			v := bytes.TrimSpace(m[name])
			switch {
			case len(v) == 0 || string(v) == "null" || string(v) == `""`:
			case v[0] == '{' || v[0] == '[':
			case cellText(v) == recs[i].Key:
			default:
				informative = true
			}
			if informative {
				break
			}
		}
		if informative {
			out = append(out, name)
			if len(out) == defaultColumns {
				break
			}
		}
	}
	return out
}

// printRecords writes records as a table: the key, the columns, and when
// deleted records are included when each was deleted.
func printRecords(w io.Writer, recs []connhub.Record, columns []string, deleted bool) error {
	tw := newTable(w)
	header := []string{"KEY"}
	for _, c := range columns {
		header = append(header, strings.ToUpper(c))
	}
	if deleted {
		header = append(header, "_DELETED_AT") // the record's own, as where names it: a field "deleted" has its column
	}
	row(tw, header...)
	for _, r := range recs {
		m := recordFields(r)
		cells := []string{r.Key}
		for _, c := range columns {
			if v, ok := metaValue(r, c); ok {
				cells = append(cells, v)
			} else {
				cells = append(cells, cellText(fieldValue(m, c)))
			}
		}
		if deleted {
			cells = append(cells, timeText(r.DeletedAt))
		}
		row(tw, cells...)
	}
	return tw.Flush()
}

// metaValue is the value of one of a record's meta fields (_key,
// _team_id, _first_seen_at, _last_seen_at, _source_updated_at, _deleted_at),
// which the hub does not put in its data.
func metaValue(r connhub.Record, name string) (string, bool) {
	at := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	switch name {
	case "_key":
		return r.Key, true
	case "_team_id":
		return r.TeamID, true
	case "_first_seen_at":
		return at(&r.FirstSeenAt), true
	case "_last_seen_at":
		return at(&r.LastSeenAt), true
	case "_source_updated_at":
		return at(r.SourceUpdatedAt), true
	case "_deleted_at":
		return at(r.DeletedAt), true
	}
	return "", false
}

// fieldValue is the value of a field of a record's data: a top-level field,
// or a path into objects (profile.email); nil where there is none.
func fieldValue(data map[string]json.RawMessage, name string) json.RawMessage {
	if v, ok := data[name]; ok {
		return v
	}
	path := strings.Split(name, ".")
	v := data[path[0]]
	for _, seg := range path[1:] {
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) != nil {
			return nil
		}
		v = obj[seg]
	}
	return v
}

// cellText shows a JSON value in a table cell: a string as its text, other
// values as JSON, null as nothing, cut at maxCell characters.
func cellText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	var s string
	switch {
	case len(v) == 0 || string(v) == "null":
		return ""
	case v[0] == '"':
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
	default:
		var b bytes.Buffer
		if json.Compact(&b, v) != nil {
			b.Reset()
			b.Write(v)
		}
		s = b.String()
	}
	if utf8.RuneCountInString(s) > maxCell {
		s = string([]rune(s)[:maxCell-1]) + "…"
	}
	return s
}

func newExportCmd(io streams) *cobra.Command {
	opts := exportOptions{}
	cmd := &cobra.Command{
		Use:   "export INSTANCE STREAM [-o jsonl|csv] [--where EXPR] [--fields a,b] [--file PATH]",
		Short: "Export a stream's records as JSON lines or CSV, to stdout or a file",
		Long: "Export the records of a stream that --where selects (every one by default), as JSON lines (one\n" +
			"record a line: key, team_id, data, times) or CSV (a header row _key,_team_id,<fields>,_deleted_at,\n" +
			"then a row a record; nested values as JSON). The hub streams it a page at a time, so an export of\n" +
			"any size takes little memory. A CSV cell that begins with =, +, -, @, a tab or a carriage return\n" +
			"is written with a ' before it, so that a spreadsheet shows it as text, never runs it as a formula.\n\n" +
			"The hub declares at the end how many records it wrote. An export that breaks off without that\n" +
			"is reported as truncated, and the command exits non-zero. With --file PATH the export is written\n" +
			"beside PATH and renamed to it only once complete: PATH is never left half-written. A new file is\n" +
			"readable by its owner only (exports hold people's data); an existing one keeps its mode.",
		Args: exactArgs("INSTANCE", "STREAM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instance, opts.Stream = args[0], args[1]
			return runExport(cmd.Context(), opts, io)
		},
	}
	f := cmd.Flags()
	opts.clientFlags.register(f)
	registerFormat(cmd, &opts.Format, []string{connhub.FormatJSONL, connhub.FormatCSV}, "output format (jsonl: one JSON record a line)")
	f.StringVar(&opts.OldFormat, "format", "", "the output format")
	f.MarkDeprecated("format", "use -o jsonl or -o csv")
	cmd.ValidArgsFunction = completeArgs(io, &opts.clientFlags, instanceIDs, streamNames)
	f.StringVar(&opts.Where, "where", "", "which records, in connhub's query language: billable = true AND active_30d = false")
	f.StringSliceVar(&opts.Fields, "fields", nil, "the fields to export, comma-separated; a path keeps part of an object (profile.email) (default: all)")
	f.StringVar(&opts.Team, "team", "", "only the records of this workspace (T…), on Enterprise Grid")
	f.BoolVar(&opts.IncludeDeleted, "include-deleted", false, "include the records that vanished or were deactivated")
	f.StringVar(&opts.File, "file", "", "write to this file instead of stdout")
	return cmd
}

func runExport(ctx context.Context, opts exportOptions, ios streams) error {
	if opts.OldFormat != "" {
		if err := (formatValue{&opts.Format, []string{connhub.FormatJSONL, connhub.FormatCSV}}).Set(opts.OldFormat); err != nil {
			return usageError{fmt.Errorf("--format %q: %v", opts.OldFormat, err)}
		}
	}
	h, err := opts.connect(ios)
	if err != nil {
		return err
	}
	r, err := h.Export(ctx, opts.Instance, opts.Stream, connhub.ExportOptions{Format: opts.Format, Where: opts.Where, Fields: opts.Fields,
		TeamID: opts.Team, IncludeDeleted: opts.IncludeDeleted})
	if err != nil {
		return h.failQuery(err, map[string]string{"invalid_where": opts.Where, "invalid_fields": strings.Join(opts.Fields, ",")})
	}
	defer r.Close()
	toFile := opts.File != "" && opts.File != "-"
	var readErr error
	copyAll := func(w io.Writer) error {
		_, err := io.Copy(w, readerOnly{r, &readErr})
		return err
	}
	if toFile {
		err = writeFileAtomic(opts.File, copyAll)
	} else {
		err = copyAll(ios.stdout)
	}
	what := "what was written to stdout is incomplete"
	if toFile {
		what = opts.File + " was not written"
	}
	switch {
	case err == nil:
	case readErr != nil && errors.Is(readErr, connhub.ErrExportTruncated):
		msg := strings.TrimPrefix(strings.TrimPrefix(readErr.Error(), "connhub: "), "the export is truncated: ")
		if id := r.RequestID(); id != "" {
			msg += " (request " + id + ")"
		}
		return fmt.Errorf("the export of %s is truncated: %s; %s", opts.Stream, msg, what)
	case readErr != nil && ctx.Err() != nil:
		return fmt.Errorf("interrupted; %s", what)
	case readErr != nil:
		return fmt.Errorf("%w; %s", h.fail(readErr), what)
	case toFile:
		return fmt.Errorf("export to %s: %w", opts.File, err)
	default:
		return fmt.Errorf("export to stdout: %w", err)
	}
	if toFile {
		fmt.Fprintf(ios.stdout, "connhub: exported %s of %s to %s\n", plural(r.Records(), "record"), opts.Stream, opts.File)
	}
	return nil
}

// readerOnly notes the error its reader returned, to tell it from the
// writer's in what io.Copy returns. It hides the reader's WriterTo.
type readerOnly struct {
	r   io.Reader
	err *error
}

func (r readerOnly) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		*r.err = err
	}
	return n, err
}

// writeFileAtomic writes a file beside path and renames it to path once
// write has succeeded, so that path is either as before or whole. A new file
// is readable by its owner only; an existing one keeps its mode.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	return replaceFile(path, true, write)
}

// writePrivateFile is writeFileAtomic, but the file is readable by its owner
// only whatever the mode of the one it replaces.
func writePrivateFile(path string, write func(io.Writer) error) error {
	return replaceFile(path, false, write)
}

// replaceFile writes a file beside path, readable by its owner only, and
// renames it to path once write has succeeded; with keepMode it takes the
// mode of the file it replaces.
func replaceFile(path string, keepMode bool, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && keepMode {
		if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
			return err
		}
	}
	bw := bufio.NewWriterSize(tmp, 256<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
