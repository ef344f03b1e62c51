// Package hubtest starts, for a test, what a connhub hub is underneath its
// HTTP API: a Slack sandbox, a store (SQLite, or PostgreSQL when the test
// asks and CONNHUB_TEST_POSTGRES is set), the instance service, an
// organization with an admin, and an instance installed into the sandbox by
// OAuth, the consent page's Allow included. Tests of the parts that call
// Slack for an instance (slackcall, sync) start from here.
package hubtest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/hub"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/slacksim/sandboxtest"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/postgres"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
	"github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
	"github.com/connhub/connhub/internal/webhooks"
)

// Options choose the hub.
type Options struct {
	Sandbox slacksim.Config
	// Postgres puts the store on a fresh PostgreSQL database; the test is
	// skipped when CONNHUB_TEST_POSTGRES is unset.
	Postgres bool
	// Install, when not nil, is the instance to install (scopes, edition);
	// nil installs the Business+ edition's scopes. NoInstall installs none.
	Install   *instance.CreateInput
	NoInstall bool
	// Sync and Caller change the sync service's and the Slack caller's
	// options before the hub builds them (hub.Options).
	Sync   func(*sync.Config)
	Caller func(*slackcall.Options)
	// Serve runs the hub as serve does: its job queue on the store's
	// database, its background (Hub.Run) and its HTTP handler on a local
	// port (URL). Without it the queue is not opened: tests work runs in
	// their own goroutines.
	Serve bool
	// Webhooks changes the webhooks' options (a shorter backoff), Events
	// the events' (a stream's polling).
	Webhooks func(*webhooks.Options)
	Events   func(*events.Options)
}

// Hub is a hub's parts, running.
type Hub struct {
	Sandbox  *slacksim.Server
	SlackURL string // the sandbox's base URL
	Info     slacksim.Info
	Store    store.Store
	DSN      string // the store's location: a SQLite path or a PostgreSQL URL
	Keys     *secrets.Keyring
	KeysText string            // Keys in the key-file format, for a child process (it reveals them: tests only)
	Hub      *hub.Hub          // the hub's services, wired as serve wires them
	Services *instance.Service // Hub.Instances
	// Stack is the one way to Slack, as serve wires it (Hub.Stack: paced
	// when the sandbox limits rates), with Services as its tokens.
	Stack    *slackcall.Stack
	Admin    tenant.Principal
	Instance store.Instance // the installed instance
	Logs     *Logs          // everything the hub's parts logged
	Log      *slog.Logger
	URL      string // with Options.Serve: where the hub's HTTP handler serves
}

var ctx = context.Background()

// Start starts a hub for t.
func Start(t testing.TB, o Options) *Hub {
	t.Helper()
	key, err := secrets.GenerateKey(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.NewKeyring([]secrets.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	h := &Hub{Logs: &Logs{}, Keys: keys, KeysText: key.String()}
	h.Log = slog.New(secrets.RedactingHandler(slog.NewJSONHandler(h.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}), "chub", "chi"))
	h.Sandbox, h.SlackURL = sandboxtest.Start(t, o.Sandbox)
	h.Info = h.Sandbox.Info(h.SlackURL)
	if o.Postgres {
		h.DSN = storetest.PostgresDatabase(t)
		h.Store, err = postgres.Open(ctx, h.DSN, h.Keys)
	} else {
		h.DSN = filepath.Join(t.TempDir(), "connhub.db")
		h.Store, err = sqlite.Open(ctx, h.DSN, h.Keys)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Store.Close() })
	if err := h.Store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The hub as serve wires it, on this store, over the sandbox; paced
	// when the sandbox limits rates.
	var window time.Duration
	if o.Sandbox.RateLimits {
		window = o.Sandbox.RateWindow
		if window == 0 {
			window = time.Minute
		}
	}
	db := &hub.Database{Store: h.Store, Keys: h.Keys}
	public := "http://127.0.0.1:9"
	var srv *httptest.Server
	if o.Serve {
		db.SQL, db.Backend, db.DSN = h.Store.(interface{ DB() *sql.DB }).DB(), h.Store.Backend(), h.DSN
		srv = httptest.NewUnstartedServer(nil)
		public = "http://" + srv.Listener.Addr().String()
	}
	h.Hub, err = hub.New(ctx, hub.Options{Database: db, SlackURL: h.SlackURL,
		PublicURL: public, RateWindow: window, Log: h.Log, Sync: o.Sync, Caller: o.Caller,
		WebhookAllowPrivate: true, Webhooks: o.Webhooks, Events: o.Events}) // subscribers in tests are on 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	if o.Serve {
		srv.Config.Handler = h.Hub.Handler()
		srv.Start()
		h.URL = srv.URL
		runCtx, stop := context.WithCancel(ctx)
		done := h.Hub.Run(runCtx)
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("hubtest: the hub's background: %v", err)
			}
			h.Hub.Close() // as serve does before its shutdown: event streams end
			srv.Close()
		})
	}
	h.Services, h.Stack = h.Hub.Instances, h.Hub.Stack
	h.Admin = Organization(t, h.Store, "acme")
	if _, err := h.Services.EnsureApp(ctx, h.Admin.Org.ID, instance.AppInput{Name: "sandbox app", ClientID: h.Info.ClientID,
		ClientSecret: secrets.Secret(h.Info.ClientSecret), SigningSecret: secrets.Secret(h.Info.SigningSecret)}); err != nil {
		t.Fatal(err)
	}
	if !o.NoInstall {
		in := instance.CreateInput{Name: "Acme Slack"}
		if o.Install != nil {
			in = *o.Install
		}
		h.Instance = h.Install(t, in)
	}
	return h
}

// Organization makes an organization with an admin, as the authentication
// middleware would hand them over.
func Organization(t testing.TB, s store.Store, name string) tenant.Principal {
	t.Helper()
	o, err := s.CreateOrganization(ctx, store.Organization{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.User{OrgID: o.ID, Email: "admin@" + name + ".example", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return tenant.Principal{Org: o, User: u, Via: "api_token"}
}

// Install creates an instance and allows it on the sandbox's consent page.
func (h *Hub) Install(t testing.TB, in instance.CreateInput) store.Instance {
	t.Helper()
	return h.InstallWith(t, in, nil)
}

// InstallWith installs as Install does, sending form with the consent (an
// Enterprise Grid org install's install_into and org_team, say).
func (h *Hub) InstallWith(t testing.TB, in instance.CreateInput, form url.Values) store.Instance {
	t.Helper()
	if in.Name == "" {
		in.Name = "Acme Slack"
	}
	c, err := h.Services.Create(ctx, h.Admin, in)
	if err != nil {
		t.Fatal(err)
	}
	return h.consent(t, c.AuthorizeURL, form)
}

// Reauthenticate installs the instance again, as after its tokens were
// revoked, and returns it with its new tokens.
func (h *Hub) Reauthenticate(t testing.TB, instanceID string, form url.Values) store.Instance {
	t.Helper()
	c, err := h.Services.Reauthenticate(ctx, h.Admin, instanceID, "")
	if err != nil {
		t.Fatal(err)
	}
	return h.consent(t, c.AuthorizeURL, form)
}

func (h *Hub) consent(t testing.TB, authorizeURL string, form url.Values) store.Instance {
	t.Helper()
	loc := sandboxtest.Consent(t, authorizeURL, "allow", form)
	res, err := h.Services.Callback(ctx, instance.CallbackInput{State: loc.Query().Get("state"), Code: loc.Query().Get("code")})
	if err != nil || !res.OK {
		t.Fatalf("hubtest: the install's callback: %+v %v", res, err)
	}
	return res.Instance
}

// Logs collects log lines, safe for concurrent writers.
type Logs struct {
	mu gosync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Fault makes the sandbox misbehave (see slacksim.Fault), through its
// controls as a tester would.
func (h *Hub) Fault(t testing.TB, f slacksim.Fault) {
	t.Helper()
	body, _ := json.Marshal(f)
	resp, err := http.Post(h.SlackURL+"/_sandbox/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("hubtest: the sandbox refused the fault %+v: HTTP %d", f, resp.StatusCode)
	}
}

// ClearFaults removes every fault.
func (h *Hub) ClearFaults(t testing.TB) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, h.SlackURL+"/_sandbox/faults", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// HoldAudit holds the organization's audit chain (its head row, for the
// life of a transaction that appended an event), as a write-locked
// database would, until the returned function is called: every audited
// action of the organization waits meanwhile. Release it before the test
// ends.
func HoldAudit(t testing.TB, s store.Store, orgID string) (release func()) {
	t.Helper()
	held, free, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(q store.Queries) error {
			if _, err := q.AppendAudit(ctx, store.AuditEvent{OrgID: orgID, ActorKind: "system", ActorID: "system", Action: "test.hold"}); err != nil {
				return err
			}
			close(held)
			<-free
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("hubtest: hold the audit log: %v", err)
	}
	return func() {
		close(free)
		if err := <-done; err != nil {
			t.Errorf("hubtest: the audit hold: %v", err)
		}
	}
}

// CountingTransport is http.DefaultTransport counting the bytes read from
// the answers it carries: how a test sees that an answer streams.
type CountingTransport struct{ read atomic.Int64 }

// Read is how many bytes of answers have been read so far.
func (c *CountingTransport) Read() int64 { return c.read.Load() }

// RoundTrip sends req with http.DefaultTransport.
func (c *CountingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		resp.Body = &countingBody{resp.Body, &c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// SyncQueue opens a job queue on db for svc alone, with its workers, and
// gives it to svc, as the hub's constructor opens one for all its features:
// for tests that work runs through River with a service of their own (a
// second replica, the hub started again). poll is how often SQLite is
// looked at for new jobs (zero: the queue's default). Work the queue with
// q.Work(ctx, svc.Serve).
func SyncQueue(t testing.TB, svc *sync.Service, db *sql.DB, backend, dsn string, poll time.Duration) *queue.Queue {
	t.Helper()
	workers := river.NewWorkers()
	if err := svc.AddWorkers(workers); err != nil {
		t.Fatal(err)
	}
	q, err := queue.Open(context.Background(), db, backend, dsn, queue.Config{Workers: workers, Queues: svc.Queues(), PollEvery: poll})
	if err != nil {
		t.Fatal(err)
	}
	svc.UseQueue(q)
	return q
}
