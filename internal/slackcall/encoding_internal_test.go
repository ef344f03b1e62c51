package slackcall

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

func gzipped(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

func answer(body []byte, encoding string) *http.Response {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	if encoding != "" {
		h.Set("Content-Encoding", encoding)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
}

// Slack gzips what a client accepts, errors too: the token transport sees
// a short error through the encoding, and passes every answer on as it came.
func TestShortErrorThroughGzip(t *testing.T) {
	t.Parallel()
	expired := `{"ok":false,"error":"token_expired"}`
	if got := shortError(answer(gzipped(expired), "gzip")); got != "token_expired" {
		t.Errorf("a gzip token_expired answer was seen as %q", got)
	}
	if got := shortError(answer([]byte(expired), "")); got != "token_expired" {
		t.Errorf("a plain token_expired answer was seen as %q", got)
	}
	for _, body := range []string{`{"ok":false,"error":"channel_not_found"}`, `{"ok":true,"user":"x"}`} {
		raw := gzipped(body)
		resp := answer(raw, "gzip")
		want := ""
		if strings.Contains(body, "channel_not_found") {
			want = "channel_not_found"
		}
		if got := shortError(resp); got != want {
			t.Errorf("%s seen as %q, want %q", body, got, want)
		}
		if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, raw) {
			t.Errorf("%s: the answer looked at is not passed on as it came", body)
		}
	}
}

// A page read whole that came gzip-encoded is decoded, and bounded decoded.
func TestReadWholeDecodesGzip(t *testing.T) {
	t.Parallel()
	page := `{"ok":true,"members":[` + strings.Repeat(`{"id":"U1"},`, 500) + `{"id":"U2"}]}`
	resp := answer(gzipped(page), "gzip")
	got, err := readWhole(resp, 1<<20)
	if err != nil || string(got) != page || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("readWhole of a gzip page: %d bytes, %v, encoding %q", len(got), err, resp.Header.Get("Content-Encoding"))
	}
	if _, err := readWhole(answer(gzipped(page), "gzip"), 100); err == nil {
		t.Error("a page larger decoded than the bound was read")
	}
}
