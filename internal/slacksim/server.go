package slacksim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/connhub/connhub/internal/slackspec"
)

// Server is a running Slack sandbox: the generated workspace, the registered
// app, every token it has issued, and the HTTP handlers that serve them.
type Server struct {
	cfg     Config
	log     *slog.Logger
	world   atomic.Pointer[world]
	auth    *authState
	app     *app // the pre-registered app
	limiter *limiter
	faults  *faultSet
	stats   *statsRecorder
	events  *eventHub
	methods map[string]method
	state   *stateKeeper // nil: the state lives and dies with the process

	clockOffset atomic.Int64 // nanoseconds the controls moved the clock forward
	reqSeq      atomic.Uint64
}

// Option changes how New builds a Server.
type Option func(*Server)

// WithLogger sends the sandbox's logs to l. Without it the sandbox logs nothing.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// New generates the workspace described by cfg and registers its app. cfg is
// completed with WithDefaults and must pass Validate. With WithStateFile and a
// file there, the world, the apps and the tokens are the saved ones instead.
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		log:     slog.New(slog.DiscardHandler),
		auth:    newAuthState(),
		limiter: newLimiter(),
		faults:  newFaultSet(cfg.Seed),
		stats:   newStats(),
		events:  newEventHub(),
	}
	for _, o := range opts {
		o(s)
	}
	s.methods = s.methodTable()
	if s.state != nil {
		loaded, err := s.loadState()
		if err != nil {
			return nil, err
		}
		if loaded {
			return s, nil
		}
	}
	s.world.Store(generate(s.genSpec()))
	s.app = s.registerDefaultApp()
	if s.state != nil {
		if err := s.SaveState(); err != nil {
			return nil, err
		}
		s.log.Info("sandbox: no saved state; generated the world and saved it", "path", s.state.path)
	}
	return s, nil
}

func (s *Server) genSpec() genSpec {
	return genSpec{Seed: s.cfg.Seed, Users: s.cfg.Users, Channels: s.cfg.Channels, Workspaces: s.cfg.Workspaces, Edition: s.cfg.Edition, Anchor: s.cfg.Now()}
}

// registerDefaultApp makes the app the start line announces. Its credentials
// come from the seed, so a sandbox restarted with the same seed keeps the app a
// hub has registered.
func (s *Server) registerDefaultApp() *app {
	r := rand.New(rand.NewPCG(uint64(s.cfg.Seed), 7))
	hexOf := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			fmt.Fprintf(&b, "%016x", r.Uint64())
		}
		return b.String()[:n]
	}
	digits := func(n int) string {
		var b strings.Builder
		b.WriteByte(byte('1' + r.IntN(9)))
		for b.Len() < n {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	a := &app{
		ID:            "A0" + strings.ToUpper(hexOf(9)),
		Name:          s.cfg.AppName,
		ClientID:      digits(13) + "." + digits(13),
		ClientSecret:  hexOf(32),
		SigningSecret: hexOf(32),
		RedirectURLs:  slices.Clone(s.cfg.RedirectURLs),
		Rotation:      s.cfg.TokenRotation,
	}
	s.auth.mu.Lock()
	s.auth.apps[a.ClientID] = a
	s.auth.mu.Unlock()
	return a
}

// ClientSecret is the app's client secret now.
func (s *Server) ClientSecret() string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.app.ClientSecret
}

// RegenerateClientSecret does what the Regenerate button beside the Client
// Secret on an app's Basic Information page does at Slack: the app gets a
// new client secret, and the old one stops working at once (oauth.v2.access
// answers bad_client_secret to it). Tokens already issued keep working.
func (s *Server) RegenerateClientSecret() string {
	s.auth.mu.Lock()
	s.app.ClientSecret = randHex(32)
	secret := s.app.ClientSecret
	s.auth.mu.Unlock()
	s.saveNow()
	return secret
}

// now is the sandbox clock: the configured clock plus any advance the controls
// made.
func (s *Server) now() time.Time {
	return s.cfg.Now().Add(time.Duration(s.clockOffset.Load()))
}

// Info is the start line `connhub sandbox` prints: where everything is and the
// pre-registered app's credentials.
type Info struct {
	APIURL        string `json:"api_url"`
	AuthorizeURL  string `json:"authorize_url"`
	SCIMURL       string `json:"scim_url"`
	ControlURL    string `json:"control_url"`
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	SigningSecret string `json:"signing_secret"`
	AppID         string `json:"app_id"`
	TeamID        string `json:"team_id"`
	EnterpriseID  string `json:"enterprise_id,omitempty"`
	Edition       string `json:"edition"`
}

// Info describes the sandbox as served at baseURL (scheme and host, no path).
func (s *Server) Info(baseURL string) Info {
	baseURL = strings.TrimRight(baseURL, "/")
	w := s.world.Load()
	info := Info{
		APIURL:        baseURL + "/api/",
		AuthorizeURL:  baseURL + "/oauth/v2/authorize",
		SCIMURL:       baseURL + "/scim/v2/",
		ControlURL:    baseURL + "/_sandbox/",
		ClientID:      s.app.ClientID,
		ClientSecret:  s.ClientSecret(),
		SigningSecret: s.app.SigningSecret,
		AppID:         s.app.ID,
		TeamID:        w.teams[0].ID,
		Edition:       string(s.cfg.Edition),
	}
	if w.enterprise != nil {
		info.EnterpriseID = w.enterprise.ID
	}
	return info
}

// Handler serves the sandbox: the Web API under /api/, the OAuth pages under
// /oauth/, SCIM under /scim/v2/ and the controls under /_sandbox/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/v2/authorize", s.serveAuthorize(false))
	mux.HandleFunc("POST /oauth/v2/authorize", s.serveConsent)
	mux.HandleFunc("GET /oauth/authorize", s.serveAuthorize(true))
	mux.HandleFunc("POST /oauth/authorize", s.serveConsent)
	mux.Handle("/scim/", s.scimHandler())
	s.controlRoutes(mux)
	mux.HandleFunc("GET /{$}", s.serveIndex)
	// The Web API bypasses the mux, whose path cleaning would answer odd method
	// names with a redirect where Slack answers unknown_method.
	return s.recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.serveAPI(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// recoverer turns a panic into Slack's answer for its own failure rather than a
// dropped connection, and logs it.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("sandbox: panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v))
				errReply("internal_error").withStatus(http.StatusInternalServerError).write(w, nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// Serve answers on l until ctx is done, then shuts down gracefully. With a
// state file it records l's address there, and closes it (Close) when it
// stops.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.servedAt(l.Addr().String())
	s.saveNow()
	defer func() {
		if err := s.Close(); err != nil {
			s.log.Error("sandbox: save state", "err", err)
		}
	}()
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := hs.Shutdown(shutdown)
		<-done
		return err
	}
}

// tokenMethods are the write methods that issue, spend or revoke tokens: a
// state file is written before they answer.
var tokenMethods = map[string]bool{"oauth.v2.access": true, "oauth.v2.exchange": true, "auth.revoke": true}

// method is one emulated Web API method.
type method struct {
	fn     func(*call) *reply
	noAuth bool // the method takes no token (oauth.v2.access)
	team   bool // an org-wide token must name a workspace with team_id
	write  bool // the method changes the workspace

	// standIn names, for a required argument, another argument that may take
	// its place: users.info answers the undocumented users=U1,U2 that
	// slack-go's GetUsersInfo sends instead of user.
	standIn map[string]string
}

// principal is what a token stands for, copied out of the auth state under its
// lock so that a handler can read it freely.
type principal struct {
	app        *app
	kind       tokenKind
	team       *team
	enterprise *enterprise
	org        bool
	user       *user
	botID      string
	scopes     []string
	teams      []*team
	expires    time.Time
	token      string
}

func (p *principal) hasScope(s string) bool { return slices.Contains(p.scopes, s) }

// call is one Web API call being answered.
type call struct {
	s    *Server
	w    *world
	r    *http.Request
	req  *apiRequest
	spec slackspec.Method
	p    *principal // nil for methods without a token
	team *team      // the workspace the call acts in; nil for an org-level call without team_id
	now  time.Time
}

func (c *call) arg(k string) string { return c.req.args[k] }

// teams lists the workspaces the call may see: its workspace, or every workspace
// an org-wide token reaches.
func (c *call) teams() []*team {
	if c.team != nil {
		return []*team{c.team}
	}
	if c.p != nil && c.p.org {
		return c.p.teams
	}
	return nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	w.Header().Set("X-Slack-Req-Id", strconv.FormatUint(s.reqSeq.Add(1), 36)+randHex(8))
	w.Header().Set("Access-Control-Allow-Origin", "*")
	spec, known := slackspec.Lookup(name)
	statsKey := name
	if !known {
		statsKey = "(unknown)"
	}
	s.stats.method(statsKey, func(m *MethodStats) { m.Calls++ })

	if f, ok := s.faults.pick(name); ok {
		if f.apply(w, r) {
			s.stats.method(statsKey, func(m *MethodStats) { m.Faults++ })
			return
		}
	}

	req, werr := parseAPIRequest(r, name)
	if werr != nil {
		s.stats.method(statsKey, func(m *MethodStats) { m.Errors++ })
		errReply(werr.code).withStatus(werr.status).message("[ERROR] "+werr.detail).write(w, nil)
		return
	}
	h, implemented := s.methods[name]
	var rep *reply
	switch {
	case !known:
		rep = errReply("unknown_method").with("req_method", name)
	case spec.Deprecated():
		rep = errReply("method_deprecated").message("[ERROR] " + name + " was retired by Slack; use the conversations.* methods")
	case !implemented:
		rep = errReply("unknown_method").with("req_method", name).message("[ERROR] the connhub sandbox does not emulate " + name)
	default:
		rep = s.invoke(h, spec, req, r)
	}
	s.stats.method(statsKey, func(m *MethodStats) {
		switch {
		case rep.status == http.StatusTooManyRequests:
			m.RateLimited++
		case rep.errCode != "":
			m.Errors++
		default:
			m.OK++
		}
	})
	if h.write && rep.errCode == "" {
		if tokenMethods[name] {
			s.saveNow() // before the answer: a token given out is a token kept
		} else {
			s.changed()
		}
	}
	if s.cfg.LogRequests {
		s.log.Info("sandbox: api", "method", name, "status", rep.status, "error", rep.errCode, "token_from", req.tokenFrom)
	}
	rep.gzip = acceptsGzip(r)
	rep.write(w, req.warnings)
}

// invoke authenticates the call, spends its rate budget, checks the token type,
// scopes, workspace and arguments the way Slack does, then runs the method.
func (s *Server) invoke(h method, spec slackspec.Method, req *apiRequest, r *http.Request) *reply {
	w := s.world.Load()
	if h.write {
		w.mu.Lock()
		defer w.mu.Unlock()
	} else {
		w.mu.RLock()
		defer w.mu.RUnlock()
	}
	c := &call{s: s, w: w, r: r, req: req, spec: spec, now: s.now()}
	if h.noAuth {
		return h.fn(c)
	}
	if req.token == "" {
		return errReply("not_authed")
	}
	p, code := s.resolveToken(req.token, c.now)
	if code != "" {
		return errReply(code)
	}
	c.p = p
	allowed := spec.BotScopes
	if p.kind == kindUser {
		allowed = spec.UserScopes
	}
	rep := c.authorized(h, allowed)
	// Slack names the granted and the accepted scopes on every answer to a
	// token it recognises, errors included.
	rep.setHeader("X-OAuth-Scopes", strings.Join(p.scopes, ","))
	rep.setHeader("X-Accepted-OAuth-Scopes", strings.Join(allowed, ","))
	return rep
}

// authorized runs the checks that follow authentication, in Slack's order,
// then the method: the workspace, the rate budget, the token type, the scopes
// (any one of the method's for the token's kind), the required arguments.
func (c *call) authorized(h method, allowed []string) *reply {
	p, spec := c.p, c.spec
	if rep := c.resolveTeam(h.team); rep != nil {
		return rep
	}
	if rep := c.s.spendBudget(c); rep != nil {
		return rep
	}
	if (p.kind == kindBot && spec.UserOnly()) || (p.kind == kindUser && spec.BotOnly()) {
		return errReply("not_allowed_token_type")
	}
	if len(allowed) > 0 && !slices.ContainsFunc(allowed, p.hasScope) {
		return missingScope(strings.Join(allowed, ","), p.scopes)
	}
	for _, a := range spec.RequiredArgs {
		if strings.TrimSpace(c.req.args[a]) == "" && (h.standIn[a] == "" || strings.TrimSpace(c.req.args[h.standIn[a]]) == "") {
			return invalidArguments("missing required field: " + a)
		}
	}
	return h.fn(c)
}

// resolveToken finds what a token stands for, or the error Slack gives for it.
// The caller holds the world lock.
func (s *Server) resolveToken(value string, now time.Time) (*principal, string) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	t := s.auth.access[value]
	if t == nil {
		return nil, "invalid_auth"
	}
	if code := t.tokenError(now); code != "" {
		return nil, code
	}
	g := t.g
	return &principal{
		app: g.app, kind: g.kind, team: g.team, enterprise: g.enterprise, org: g.orgInstall,
		user: g.user, botID: g.botID, scopes: slices.Clone(g.scopes), teams: slices.Clone(g.teams),
		expires: t.expires, token: value,
	}, ""
}

// resolveTeam picks the workspace the call acts in. A workspace token acts in
// its own workspace and Slack ignores team_id; an org-wide token acts where
// team_id says, and methods that list a workspace's content require it.
func (c *call) resolveTeam(required bool) *reply {
	if !c.p.org {
		c.team = c.p.team
		return nil
	}
	tid := c.arg("team_id")
	if tid == "" {
		if required {
			return errReply("missing_argument").message("[ERROR] an org-wide token must pass team_id to this method")
		}
		return nil
	}
	t := c.w.team(tid)
	if t == nil || !slices.Contains(c.p.teams, t) {
		return errReply("team_access_not_granted")
	}
	c.team = t
	return nil
}

// spendBudget applies the method's rate limit, per app, per workspace (or org)
// and per method, and per channel for chat.postMessage.
func (s *Server) spendBudget(c *call) *reply {
	if !s.cfg.RateLimits {
		return nil
	}
	perMinute, limited := c.spec.PerMinute()
	if !limited {
		return nil
	}
	place := ""
	switch {
	case c.team != nil:
		place = c.team.ID
	case c.p.enterprise != nil:
		place = c.p.enterprise.ID
	}
	key := c.p.app.ID + "/" + place + "/" + c.spec.Name
	if c.spec.PerChannel() {
		key += "/" + c.arg("channel")
	}
	ok, wait := s.limiter.take(key, perMinute, s.cfg.RateWindow, c.now)
	if ok {
		return nil
	}
	return errReply("ratelimited").withStatus(http.StatusTooManyRequests).setHeader("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	info := s.Info("http://" + r.Host)
	fmt.Fprintf(w, "connhub Slack sandbox: an offline emulator of the Slack platform.\n\n"+
		"Web API      %s<method>\nOAuth        %s\nSCIM         %s\nControls     %s\n\nclient_id    %s\nteam_id      %s\nedition      %s\n",
		info.APIURL, info.AuthorizeURL, info.SCIMURL, info.ControlURL, info.ClientID, info.TeamID, info.Edition)
}

// errBodyTooLarge is returned by readJSON for control bodies over the limit.
var errBodyTooLarge = errors.New("body too large")

func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errBodyTooLarge
	}
	return b, nil
}
