package provision_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/provision"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
)

// env is a sandbox on a Business+ workspace over real HTTP, with a fault
// proxy in front of it and a SCIM client through the proxy holding an admin
// token of the primary owner.
type env struct {
	t      *testing.T
	srv    *slacksim.Server
	proxy  *faultProxy
	client *provision.HTTPClient
	owner  string // the token's user: the primary owner
}

func sandboxConfig() slacksim.Config {
	return slacksim.Config{Seed: 7, Users: 60, Edition: slacksim.EditionBusinessPlus, RateLimits: true, RateWindow: time.Second}
}

func setup(t *testing.T, cfg slacksim.Config) *env {
	t.Helper()
	srv, base := sandboxtest.Start(t, cfg)
	tok, err := srv.IssueToken(slacksim.TokenRequest{Kind: "user", Scopes: []string{"admin"},
		Org: cfg.Edition == slacksim.EditionEnterpriseGrid})
	if err != nil {
		t.Fatalf("IssueToken: %v", err)
	}
	p := newFaultProxy(t, base)
	return &env{t: t, srv: srv, proxy: p, owner: tok.UserID,
		client: &provision.HTTPClient{BaseURL: p.url + "/scim/v2", Token: secrets.Secret(tok.AccessToken)}}
}

// state reads Slack's state, with the primary owner protected as a caller
// that asked users.list would.
func (e *env) state() *provision.State {
	e.t.Helper()
	st, err := provision.ReadState(context.Background(), e.client, provision.Retry{})
	if err != nil {
		e.t.Fatalf("ReadState: %v", err)
	}
	st.Protected = map[string]string{e.owner: "primary owner"}
	return st
}

// do sends a SCIM request straight to the sandbox and decodes the answer.
func (e *env) do(method, path string, q url.Values, body any, out any) int {
	e.t.Helper()
	status, b, err := e.client.Do(context.Background(), method, path, q, body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %.300s", method, path, err, b)
		}
	}
	return status
}

// user gets a user by ID.
func (e *env) user(id string) provision.User {
	e.t.Helper()
	var u provision.User
	if status := e.do(http.MethodGet, "/Users/"+id, nil, nil, &u); status != http.StatusOK {
		e.t.Fatalf("GET /Users/%s: status %d", id, status)
	}
	return u
}

// usersWhere lists the users a filter matches.
func (e *env) usersWhere(filter string) []provision.User {
	e.t.Helper()
	var page struct {
		Resources []provision.User `json:"Resources"`
	}
	if status := e.do(http.MethodGet, "/Users", url.Values{"filter": {filter}}, nil, &page); status != http.StatusOK {
		e.t.Fatalf("GET /Users?filter=%s: status %d", filter, status)
	}
	return page.Resources
}

// groupNamed finds a group by name.
func (e *env) groupNamed(name string) (provision.Group, bool) {
	e.t.Helper()
	var page struct {
		Resources []provision.Group `json:"Resources"`
	}
	e.do(http.MethodGet, "/Groups", url.Values{"filter": {fmt.Sprintf("displayName eq %q", name)}}, nil, &page)
	if len(page.Resources) == 0 {
		return provision.Group{}, false
	}
	return page.Resources[0], true
}

// faultProxy passes SCIM requests to the sandbox, and misbehaves as Slack
// sometimes does for the requests a fault names: it answers a status of its
// own (503, or 429 with Retry-After) without passing the request on, or
// passes it on and loses the answer (the connection closes). The sandbox's
// faults act on the Web API only.
type faultProxy struct {
	url    string
	target *url.URL
	rp     *httputil.ReverseProxy

	mu     sync.Mutex
	faults []*fault
}

type fault struct {
	method     string // "POST"
	route      string // "/Users" or "/Users/{id}", "/Groups", "/Groups/{id}"
	status     int    // answer this status; 0 with lose: pass on, lose the answer
	retryAfter string
	lose       bool
	count      int // affect this many requests; 0 means every one
	hits       int
}

func newFaultProxy(t *testing.T, base string) *faultProxy {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{target: target, rp: httputil.NewSingleHostReverseProxy(target)}
	p.rp.ErrorLog = log.New(io.Discard, "", 0) // a cut-off request is a test's doing, not news
	ts := httptest.NewServer(p)
	t.Cleanup(ts.Close)
	p.url = ts.URL
	return p
}

// add makes requests misbehave until clear.
func (p *faultProxy) add(f *fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
}

func (p *faultProxy) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

func routeOf(path string) string {
	rest := strings.TrimPrefix(path, "/scim/v2")
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if len(parts) > 1 {
		return "/" + parts[0] + "/{id}"
	}
	return "/" + parts[0]
}

func (p *faultProxy) match(r *http.Request) *fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.faults {
		if f.method == r.Method && f.route == routeOf(r.URL.Path) && (f.count == 0 || f.hits < f.count) {
			f.hits++
			return f
		}
	}
	return nil
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := p.match(r)
	switch {
	case f == nil:
		p.rp.ServeHTTP(w, r)
	case f.lose:
		// Slack acts on the request; its answer never arrives.
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.RequestURI, out.Host = p.target.Scheme, p.target.Host, "", p.target.Host
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	default:
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"Errors":{"description":"fault","code":%d}}`, f.status)
	}
}

// sleeps records the waits a run asks for, and waits none of them: tests
// check that Retry-After was honoured without timing anything.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}
