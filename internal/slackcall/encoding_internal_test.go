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

// Slack gzips what a client accepts, token_expired too: the token transport
// sees it through the encoding, and passes any other answer on as it came.
func TestTokenExpiredThroughGzip(t *testing.T) {
	t.Parallel()
	expired := `{"ok":false,"error":"token_expired"}`
	if !tokenExpired(answer(gzipped(expired), "gzip")) {
		t.Error("a gzip token_expired answer was not seen")
	}
	if !tokenExpired(answer([]byte(expired), "")) {
		t.Error("a plain token_expired answer was not seen")
	}
	other := gzipped(`{"ok":false,"error":"channel_not_found"}`)
	resp := answer(other, "gzip")
	if tokenExpired(resp) {
		t.Fatal("channel_not_found taken for token_expired")
	}
	if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, other) {
		t.Error("the answer looked at is not passed on as it came")
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
