package slacksim_test

import (
	"encoding/json"
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

// startSandbox runs a sandbox over real HTTP for one test. Unset fields of cfg
// get the sandbox defaults; rate limits and rotation are as cfg says.
func startSandbox(t testing.TB, cfg slacksim.Config) (*slacksim.Server, string) {
	t.Helper()
	if cfg.Users == 0 {
		cfg.Users = 150
	}
	srv, err := slacksim.New(cfg)
	if err != nil {
		t.Fatalf("slacksim.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() { srv.Close() }) // stops event deliveries
	return srv, ts.URL
}

// noRedirect is an HTTP client that hands back redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// webAPI posts a form to /api/<method> with the token as a Bearer header and
// decodes Slack's JSON answer.
func webAPI(t testing.TB, base, token, method string, args url.Values) (map[string]any, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/"+method, strings.NewReader(args.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: answer is not JSON (%v): %.200s", method, err, body)
	}
	return out, resp
}

// wantError checks a Web API answer is ok:false with the given code.
func wantError(t testing.TB, got map[string]any, code string) {
	t.Helper()
	if got["ok"] != false || got["error"] != code {
		t.Fatalf("got ok=%v error=%v, want error %q (answer %v)", got["ok"], got["error"], code, got)
	}
}

func wantOK(t testing.TB, got map[string]any) {
	t.Helper()
	if got["ok"] != true {
		t.Fatalf("got ok=%v error=%v, want ok (answer %v)", got["ok"], got["error"], got)
	}
}

func issue(t testing.TB, srv *slacksim.Server, req slacksim.TokenRequest) slacksim.IssuedToken {
	t.Helper()
	tok, err := srv.IssueToken(req)
	if err != nil {
		t.Fatalf("IssueToken: %v", err)
	}
	return tok
}

var consentInput = regexp.MustCompile(`name="consent" value="([0-9a-f]+)"`)

// consent opens the authorize page with q and submits the consent form with
// action and any extra form values, returning the redirect it answers with.
func consent(t testing.TB, base string, q url.Values, action string, extra url.Values) *url.URL {
	t.Helper()
	page := getPage(t, base+"/oauth/v2/authorize?"+q.Encode(), http.StatusOK)
	m := consentInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("consent page has no consent form: %.300s", page)
	}
	form := url.Values{"consent": {m[1]}, "action": {action}}
	for k, vs := range extra {
		form[k] = vs
	}
	resp, err := noRedirect.PostForm(base+"/oauth/v2/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("consent answered %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func getPage(t testing.TB, u string, wantStatus int) string {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: got status %d, want %d: %.300s", u, resp.StatusCode, wantStatus, b)
	}
	return string(b)
}

// controlJSON sends a JSON body to a /_sandbox/ control and decodes the answer.
func controlJSON(t testing.TB, base, method, path, body string, wantStatus int) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: got status %d, want %d: %v", method, path, resp.StatusCode, wantStatus, out)
	}
	return out
}

func decodeJSON(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
