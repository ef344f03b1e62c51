package apidocs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/apidocs"
)

func setup(t *testing.T) *httptest.Server {
	t.Helper()
	doc := &huma.OpenAPI{OpenAPI: "3.1.0", Paths: map[string]*huma.PathItem{
		"/v1/instances/{id}/ping": {Get: &huma.Operation{OperationID: "ping-instance", Summary: "Ping an instance", Tags: []string{"Instances"}}},
		"/v1/slack/{method}":      {Post: &huma.Operation{OperationID: "slack-post", Summary: "Call Slack", Tags: []string{"Slack"}}},
	}}
	mux := http.NewServeMux()
	apidocs.New(doc).Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPage(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	resp, page := get(t, ts.URL+"/docs?instance=in_1", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /docs: got %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") || strings.Contains(got, "script-src 'self' 'unsafe") {
		t.Errorf("Content-Security-Policy %q: want scripts from the hub only", got)
	}
	// Without JavaScript, the operations stay readable.
	noscript := regexp.MustCompile(`(?s)<noscript>(.*)</noscript>`).FindStringSubmatch(page)
	if noscript == nil {
		t.Fatalf("the page has no <noscript> fallback:\n%s", page)
	}
	for _, want := range []string{`id="ping-instance"`, "GET /v1/instances/{id}/ping", "Ping an instance", `id="slack-post"`} {
		if !strings.Contains(noscript[1], want) {
			t.Errorf("the <noscript> list lacks %q", want)
		}
	}
	// Every asset the page links is served, versioned by its content.
	links := regexp.MustCompile(`(?:src|href)="(/docs/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) != 4 {
		t.Fatalf("got %d asset links, want 4 (Swagger UI's JS and CSS, docs.js, docs.css)", len(links))
	}
	for _, l := range links {
		u := strings.ReplaceAll(l[1], "&amp;", "&")
		if !regexp.MustCompile(`\?v=[0-9a-f]{12}$`).MatchString(u) {
			t.Errorf("asset link %s: want ?v=<content hash>", u)
		}
		resp, body := get(t, ts.URL+u, nil)
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: got %d with %d bytes", u, resp.StatusCode, len(body))
			continue
		}
		if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "max-age=31536000") || !strings.Contains(got, "immutable") {
			t.Errorf("GET %s: Cache-Control %q, want a year, immutable", u, got)
		}
		resp, _ = get(t, ts.URL+u, http.Header{"If-None-Match": {resp.Header.Get("ETag")}})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: got %d, want 304", u, resp.StatusCode)
		}
	}
}

func TestAssets(t *testing.T) {
	t.Parallel()
	ts := setup(t)
	for _, tc := range []struct {
		path        string
		status      int
		contentType string
	}{
		{"/docs/assets/swagger-ui-bundle.js", 200, "text/javascript; charset=utf-8"},
		{"/docs/assets/swagger-ui.css", 200, "text/css; charset=utf-8"},
		{"/docs/assets/LICENSE", 200, "text/plain; charset=utf-8"},
		{"/docs/assets/nope.js", 404, ""},
		{"/docs/assets/../apidocs.go", 404, ""},
	} {
		resp, _ := get(t, ts.URL+tc.path, nil)
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s: got %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		if tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, resp.Header.Get("Content-Type"), tc.contentType)
		}
	}
}

func TestIsPath(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{"/docs": true, "/docs/assets/docs.js": true, "/docs/": false, "/docsx": false, "/v1/docs": false} {
		if got := apidocs.IsPath(p); got != want {
			t.Errorf("IsPath(%q): got %v, want %v", p, got, want)
		}
	}
}
