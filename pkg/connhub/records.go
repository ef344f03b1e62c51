package connhub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
)

func recordsPath(instanceID, stream string) string {
	return "/v1/instances/" + pathID(instanceID) + "/records/" + pathID(stream)
}

func needStream(instanceID, stream string) error {
	if err := needID("instance", instanceID); err != nil {
		return err
	}
	if stream == "" {
		return errors.New("connhub: the stream is empty")
	}
	return nil
}

// QueryRecords returns one page of a stream's records that q selects, in
// q's order (GET /v1/instances/{id}/records/{stream}). A where the hub cannot
// read is a 400 invalid_where whose message says at which position; an
// unknown stream or field is a 400 unknown_stream or unknown_field naming
// the valid ones.
func (c *Client) QueryRecords(ctx context.Context, instanceID, stream string, q RecordQuery) (RecordPage, error) {
	var out RecordPage
	if err := needStream(instanceID, stream); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, recordsPath(instanceID, stream), q.values(), nil, &out)
	return out, err
}

// AllRecords iterates over every record that q selects, page after page
// from q.Cursor. It stops at the first error, which it yields.
func (c *Client) AllRecords(ctx context.Context, instanceID, stream string, q RecordQuery) iter.Seq2[Record, error] {
	return all(ctx, ListOptions{Cursor: q.Cursor, Limit: q.PageSize}, func(ctx context.Context, o ListOptions) ([]Record, string, error) {
		q.Cursor, q.PageSize = o.Cursor, o.Limit
		p, err := c.QueryRecords(ctx, instanceID, stream, q)
		return p.Records, p.NextCursor, err
	})
}

// ExportRecordsTrailer is the HTTP trailer in which the hub declares, after
// the last record of an export, how many records it wrote. An export that
// breaks off has none.
const ExportRecordsTrailer = "Connhub-Export-Records"

// ErrExportTruncated is the error an export's reader returns, instead of
// io.EOF, when the export did not arrive whole: the hub did not declare it
// complete (it broke off after the body started), the connection broke, or
// fewer records arrived than the hub declared.
var ErrExportTruncated = errors.New("connhub: the export is truncated")

// Export streams the records of a stream that opts select, in JSON lines
// or CSV (GET /v1/instances/{id}/records/{stream}/export). The hub reads its
// store a page at a time, so an export of any size takes flat memory at
// both ends.
//
// Read the returned reader to its end and close it. It returns io.EOF only
// when the hub declared the export complete; otherwise its last error wraps
// ErrExportTruncated, and what was read is incomplete. An export is not
// bound by the http.Client's Timeout, which would cut a long one off: ctx
// bounds it.
func (c *Client) Export(ctx context.Context, instanceID, stream string, opts ExportOptions) (*ExportReader, error) {
	if err := needStream(instanceID, stream); err != nil {
		return nil, err
	}
	format := opts.Format
	if format == "" {
		format = FormatJSONL
	}
	q := RecordQuery{Where: opts.Where, Fields: opts.Fields, TeamID: opts.TeamID, IncludeDeleted: opts.IncludeDeleted}.values()
	q.Set("format", format)
	accept := "application/x-ndjson"
	if format == FormatCSV {
		accept = "text/csv"
	}
	path := recordsPath(instanceID, stream) + "/export"
	resp, err := c.send(ctx, c.untimed(), http.MethodGet, path, q, nil, accept+", application/json")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, notStreamed(resp, path)
	}
	return &ExportReader{ctx: ctx, resp: resp, jsonl: format == FormatJSONL}, nil
}

// ExportReader reads an export as it arrives. It is not safe for
// concurrent use.
type ExportReader struct {
	ctx     context.Context
	resp    *http.Response
	jsonl   bool
	lines   int64 // whole lines read, for JSON lines
	partial bool  // whether bytes after the last newline were read
	records int64
	err     error // sticky: io.EOF or the error that ended the export
}

// ContentType is the export's media type: application/x-ndjson or text/csv.
func (r *ExportReader) ContentType() string { return r.resp.Header.Get("Content-Type") }

// RequestID is the export request's ID (X-Request-Id), for the hub's logs.
func (r *ExportReader) RequestID() string { return r.resp.Header.Get("X-Request-Id") }

// Records is the number of records the hub declared it wrote: known once
// Read has returned io.EOF, 0 before.
func (r *ExportReader) Records() int64 { return r.records }

// Read reads the export. At its end it returns io.EOF if the hub declared it
// complete, and an error wrapping ErrExportTruncated if not.
func (r *ExportReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.resp.Body.Read(p)
	if r.jsonl && n > 0 {
		r.lines += int64(bytes.Count(p[:n], []byte{'\n'}))
		r.partial = p[n-1] != '\n'
	}
	switch {
	case err == io.EOF:
		err = r.finish()
	case err != nil && r.ctx.Err() != nil:
		err = r.ctx.Err()
	case err != nil:
		err = fmt.Errorf("%w: %v", ErrExportTruncated, err)
	}
	r.err = err
	return n, err
}

// finish checks, at the end of the body, that the hub declared the export
// complete, and for JSON lines that as many records arrived.
func (r *ExportReader) finish() error {
	declared := r.resp.Trailer.Get(ExportRecordsTrailer)
	if declared == "" {
		return fmt.Errorf("%w: the hub did not declare it complete (no %s trailer); it broke off after %s",
			ErrExportTruncated, ExportRecordsTrailer, r.got())
	}
	n, err := strconv.ParseInt(strings.TrimSpace(declared), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%w: its %s trailer is %q, not a count", ErrExportTruncated, ExportRecordsTrailer, declared)
	}
	r.records = n
	if got := r.received(); r.jsonl && got != n {
		return fmt.Errorf("%w: the hub wrote %d records and %d arrived", ErrExportTruncated, n, got)
	}
	return io.EOF
}

func (r *ExportReader) received() int64 {
	if r.partial {
		return r.lines + 1
	}
	return r.lines
}

// got says how much arrived.
func (r *ExportReader) got() string {
	if n := r.received(); r.jsonl && n == 1 {
		return "1 record"
	} else if r.jsonl {
		return fmt.Sprintf("%d records", n)
	}
	return "part of the CSV"
}

// Close closes the export; closing it before its end stops it.
func (r *ExportReader) Close() error { return r.resp.Body.Close() }
