package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/proxy"
	"github.com/connhub/connhub/internal/slacksim"
)

// firstWrite notes how much of Slack's answer had been read when the proxy
// first wrote to its caller.
type firstWrite struct {
	*httptest.ResponseRecorder
	base  *hubtest.CountingTransport
	first int64
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if w.first < 0 {
		w.first = w.base.Read()
	}
	return w.ResponseRecorder.Write(p)
}

func TestALargeAnswerStreamsThroughTheProxy(t *testing.T) {
	t.Parallel()
	base := &hubtest.CountingTransport{}
	h := start(t, hubOptions{sandbox: slacksim.Config{Users: 1000}, noPacing: true, proxy: proxy.Options{Transport: base}})
	r := httptest.NewRequest(http.MethodGet, "/v1/slack/users.list?limit=1000", nil)
	r.Header.Set("Authorization", "Bearer "+h.token)
	w := &firstWrite{ResponseRecorder: httptest.NewRecorder(), base: base, first: -1}
	h.px.ServeHTTP(w, r)
	total := int64(w.Body.Len())
	if w.Code != http.StatusOK || total < 200<<10 || base.Read() != total {
		t.Fatalf("users.list of 1000 through the proxy: HTTP %d, %d bytes (%d read from Slack)", w.Code, total, base.Read())
	}
	if w.first > 64<<10 {
		t.Errorf("the proxy first wrote to its caller after reading %d of the answer's %d bytes; want it to stream (at most 64 KiB first)", w.first, total)
	}
}
