package slacksim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// reply is a Web API answer under construction: the top-level fields in the
// order Slack writes them, then "ok", "warning" and "response_metadata" are
// added by write. A reply with a raw body (admin.analytics.getFile's gzip file)
// is written as it is.
type reply struct {
	status     int
	errCode    string
	fields     []kv
	nextCursor *string
	messages   []string
	header     http.Header

	raw         []byte
	contentType string
	// gzip says the client accepts a gzip-encoded answer, which Slack
	// sends for JSON answers of some size.
	gzip bool
}

// gzipMin is the smallest JSON answer sent gzip-encoded to a client that
// accepts it.
const gzipMin = 1 << 10

type kv struct {
	k string
	v any
}

func okReply() *reply { return &reply{status: http.StatusOK} }

func errReply(code string) *reply { return &reply{status: http.StatusOK, errCode: code} }

// with adds a top-level field.
func (r *reply) with(k string, v any) *reply {
	r.fields = append(r.fields, kv{k, v})
	return r
}

// cursor sets response_metadata.next_cursor; "" marks the last page, as Slack does.
func (r *reply) cursor(next string) *reply {
	r.nextCursor = &next
	return r
}

// message adds a line to response_metadata.messages, as Slack explains
// invalid_arguments ("[ERROR] missing required field: channel").
func (r *reply) message(m string) *reply {
	r.messages = append(r.messages, m)
	return r
}

func (r *reply) setHeader(k, v string) *reply {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(k, v)
	return r
}

// missingScope is Slack's missing_scope answer with the needed and provided scopes.
func missingScope(needed string, provided []string) *reply {
	return errReply("missing_scope").with("needed", needed).with("provided", strings.Join(provided, ","))
}

func invalidArguments(detail string) *reply {
	return errReply("invalid_arguments").message("[ERROR] " + detail)
}

// bufPool holds response buffers: a page of 200 users is 300 KB, and reusing
// its buffer spares the collector that much per call.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encode renders the reply's JSON body with the request's warnings into b.
func (r *reply) encode(b *bytes.Buffer, warnings []string) error {
	if r.errCode == "" {
		b.WriteString(`{"ok":true`)
	} else {
		b.WriteString(`{"ok":false,"error":`)
		b.WriteString(strconv.Quote(r.errCode))
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	for _, f := range r.fields {
		b.WriteString(`,"`)
		b.WriteString(f.k)
		b.WriteString(`":`)
		if err := enc.Encode(f.v); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
	}
	if len(warnings) > 0 {
		b.WriteString(`,"warning":`)
		b.WriteString(strconv.Quote(strings.Join(warnings, ",")))
	}
	if r.nextCursor != nil || len(warnings) > 0 || len(r.messages) > 0 {
		meta := struct {
			NextCursor *string  `json:"next_cursor,omitempty"`
			Warnings   []string `json:"warnings,omitempty"`
			Messages   []string `json:"messages,omitempty"`
		}{r.nextCursor, warnings, r.messages}
		b.WriteString(`,"response_metadata":`)
		if err := enc.Encode(meta); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteString("}")
	return nil
}

// write sends the reply. Encoding cannot fail for the values handlers build; if
// it ever does, Slack's answer for its own failure is internal_error.
func (r *reply) write(w http.ResponseWriter, warnings []string) {
	for k, vs := range r.header {
		w.Header()[k] = vs
	}
	if r.raw != nil {
		w.Header().Set("Content-Type", r.contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(r.raw)))
		w.WriteHeader(r.status)
		w.Write(r.raw)
		return
	}
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	defer func() {
		if b.Cap() <= 4<<20 {
			bufPool.Put(b)
		}
	}()
	if err := r.encode(b, warnings); err != nil {
		b.Reset()
		b.WriteString(`{"ok":false,"error":"internal_error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	body := b.Bytes()
	if r.gzip && len(body) >= gzipMin {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		zw.Write(body)
		zw.Close()
		body = z.Bytes()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(r.status)
	w.Write(body)
}

// acceptsGzip reports whether a request's Accept-Encoding takes gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (r *reply) withStatus(status int) *reply {
	r.status = status
	return r
}
