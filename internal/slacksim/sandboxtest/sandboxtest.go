// Package sandboxtest helps tests run against the Slack sandbox: start one
// over real HTTP, and answer its consent page the way a person in a browser
// would, with a plain HTTP client.
package sandboxtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/slacksim"
)

// Start runs a sandbox for one test and returns it and its base URL.
func Start(t testing.TB, cfg slacksim.Config) (*slacksim.Server, string) {
	t.Helper()
	if cfg.Users == 0 {
		cfg.Users = 100
	}
	srv, err := slacksim.New(cfg)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() { srv.Close() }) // stops event deliveries
	return srv, ts.URL
}

var consentInput = regexp.MustCompile(`name="consent" value="([0-9a-f]+)"`)

// noRedirect hands redirects back instead of following them.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Consent opens an authorize URL, submits the consent page with action
// ("allow" or "cancel") and any extra form values (install_into, org_team on
// Enterprise Grid), and returns where Slack redirects: the app's redirect URL
// with code and state, or error=access_denied.
func Consent(t testing.TB, authorizeURL, action string, extra url.Values) *url.URL {
	t.Helper()
	resp, err := noRedirect.Get(authorizeURL)
	if err != nil {
		t.Fatalf("consent page: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := consentInput.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("consent page: status %d, no consent form: %.300s", resp.StatusCode, page)
	}
	form := url.Values{"consent": {string(m[1])}, "action": {action}}
	for k, vs := range extra {
		form[k] = vs
	}
	target, _, _ := strings.Cut(authorizeURL, "?")
	resp, err = noRedirect.PostForm(target, form)
	if err != nil {
		t.Fatalf("consent: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("consent answered %d, want a redirect", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("consent redirect: %v", err)
	}
	return loc
}
