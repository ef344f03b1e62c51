package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/signal"
	gosync "sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/console"
	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/httpapi"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/provision"
	"github.com/connhub/connhub/internal/proxy"
	"github.com/connhub/connhub/internal/queue"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/replica"
	"github.com/connhub/connhub/internal/scim"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
	"github.com/connhub/connhub/internal/webhooks"
)

// Options say how a hub is wired. Serve sets them from the configuration;
// tests set what they test and leave the rest.
type Options struct {
	Database *Database
	// SlackURL is Slack's base URL: https://slack.com, or a sandbox's.
	SlackURL string
	// PublicURL is where the hub is reached, for Slack's OAuth redirect.
	PublicURL string
	// RateWindow is the length of Slack's rate window the pacer paces to;
	// zero builds no pacer (tests of a sandbox without rate limits).
	RateWindow time.Duration
	// SharedPacer keeps the pacer's budgets in the database, shared by
	// every replica on it (PostgreSQL); false paces this process alone.
	SharedPacer bool
	// Apps are registered in the first organization at start, once.
	Apps []instance.AppInput
	// MaxBodiesInFlight bounds the request bodies the proxy holds at once.
	MaxBodiesInFlight int64
	Version           string
	Log               *slog.Logger
	// WebhookAllowPrivate lets webhook subscribers be private or loopback
	// addresses; Webhooks, when set, changes the webhooks' options before
	// they are built (tests: a shorter backoff).
	WebhookAllowPrivate bool
	Webhooks            func(*webhooks.Options)
	// Events, when set, changes the events' options before they are built
	// (tests: how often a stream looks for new events).
	Events func(*events.Options)
	// Sync and Caller, when set, change the sync service's and the Slack
	// caller's options before they are built (tests: a clock, a lease).
	Sync   func(*sync.Config)
	Caller func(*slackcall.Options)
	// RunLease is how long a replica holds a sync or provisioning run
	// without renewing it (default a minute): one that dies leaves its runs
	// to the others after this long. Replicas look for such runs every
	// half lease, at most every 30 s.
	RunLease time.Duration
}

// Hub is connhub, wired: every service, the one pacer, the HTTP handler.
type Hub struct {
	DB        *Database
	Instances *instance.Service
	Auth      *tenant.Authenticator
	Pacer     *ratelimit.Pacer // nil without a rate window
	Stack     *slackcall.Stack // the one way to Slack, with Instances as its tokens
	Proxy     *proxy.Proxy
	SCIM      *scim.Relay
	// Provisioning plans and applies directory files over SCIM.
	Provisioning *provision.Service
	Caller       *slackcall.Caller
	Syncs        *sync.Service
	Events       *events.Service
	Webhooks     *webhooks.Service
	Queue        *queue.Queue // River on the hub's database; nil without a SQL database
	Console      *console.Console
	API          *httpapi.API
	Registry     *prometheus.Registry
	log          *slog.Logger
}

// New wires a hub over an open database. Its sync queue is attached, so that
// every run asked for through its API is queued at once; Run starts its
// workers and the rest of its background.
func New(ctx context.Context, o Options) (*Hub, error) {
	if o.Database == nil || o.Database.Store == nil {
		return nil, errors.New("hub: no database")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d, log := o.Database, o.Log
	h := &Hub{DB: d, log: log, Registry: prometheus.NewRegistry()}
	h.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var err error
	if o.RateWindow > 0 {
		// One pacer for everything that calls Slack: Slack's budgets are per
		// workspace and method, whoever calls. Shared (on PostgreSQL, by
		// default), the budgets are kept in the database for every replica.
		popts := ratelimit.Options{Window: o.RateWindow, Log: log}
		if o.SharedPacer {
			popts.Shared, popts.Replicas = d.Store, countReplicas(ctx, d.Store, log)
		}
		h.Pacer = ratelimit.New(popts)
		registerPacerMetrics(h.Registry, h.Pacer, o.SharedPacer)
	}
	// One stack to call Slack, for the proxy, the syncs, the installs and
	// the token refreshes (internal/slackcall).
	stack := slackcall.NewStack(slackcall.StackOptions{Pacer: h.Pacer, Log: log})
	h.Instances, err = instance.New(ctx, instance.Options{
		Store: d.Store, Slack: slack.New(o.SlackURL, stack.Client(slackcall.InstallPolicy, 30*time.Second)), Log: log,
		CallbackURL: o.PublicURL + "/v1/oauth/slack/callback",
	})
	if err != nil {
		return nil, err
	}
	h.Stack = stack.WithTokens(h.Instances)
	for _, app := range o.Apps {
		if _, err := h.Instances.EnsureApp(ctx, d.Org.ID, app); err != nil {
			return nil, fmt.Errorf("register the Slack app %s: %w", app.ClientID, err)
		}
	}
	// Failed authentications are throttled per source address and per
	// credential, wherever they happen: the API, the proxy, the console.
	h.Auth = &tenant.Authenticator{Store: d.Store, Throttle: tenant.NewThrottle(tenant.DefaultThrottle), Metrics: tenant.NewMetrics(h.Registry)}
	h.Proxy, err = proxy.New(proxy.Options{SlackURL: o.SlackURL, Instances: h.Instances, Auth: h.Auth, Log: log, Metrics: proxy.NewMetrics(h.Registry),
		Stack: h.Stack, MaxBodiesInFlight: o.MaxBodiesInFlight})
	if err != nil {
		return nil, err
	}
	h.SCIM, err = scim.New(scim.Options{SlackURL: scim.SlackSCIMURL(o.SlackURL), Instances: h.Instances, Auth: h.Auth, Stack: h.Stack, Log: log,
		Metrics: scim.NewMetrics(h.Registry)})
	if err != nil {
		return nil, err
	}
	scimCaller, err := scim.NewCaller(h.Stack, o.SlackURL, slackcall.Policy{})
	if err != nil {
		return nil, err
	}
	var sweep time.Duration // the services' default
	if o.RunLease > 0 {
		sweep = min(o.RunLease/2, 30*time.Second)
	}
	if h.Provisioning, err = provision.NewService(provision.ServiceOptions{Store: d.Store, Instances: h.Instances, SCIM: scimCaller, Log: log,
		LeaseTTL: o.RunLease, SweepEvery: sweep, Registerer: h.Registry}); err != nil {
		return nil, err
	}
	px := h.Proxy
	h.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "connhub_proxy_bodies_in_flight_bytes",
		Help: "Request body bytes the proxy holds now, against --max-bodies-in-flight."}, func() float64 { return float64(px.BodiesInFlight()) }))
	co := slackcall.Options{SlackURL: o.SlackURL, Stack: h.Stack}
	if o.Caller != nil {
		o.Caller(&co)
	}
	if h.Caller, err = slackcall.New(co); err != nil {
		return nil, err
	}
	sc := sync.Config{Store: d.Store, Caller: h.Caller, Log: log, LeaseTTL: o.RunLease, SweepEvery: sweep}
	if o.Sync != nil {
		o.Sync(&sc)
	}
	if h.Syncs, err = sync.New(sc); err != nil {
		return nil, err
	}
	wo := webhooks.Options{Store: d.Store, Log: log, AllowPrivate: o.WebhookAllowPrivate, Registerer: h.Registry}
	if o.Webhooks != nil {
		o.Webhooks(&wo)
	}
	if h.Webhooks, err = webhooks.New(wo); err != nil {
		return nil, err
	}
	eo := events.Options{Store: d.Store, Instances: h.Instances, Records: h.Syncs, Webhooks: h.Webhooks, Registerer: h.Registry, Log: log}
	if o.Events != nil {
		o.Events(&eo)
	}
	if h.Events, err = events.New(eo); err != nil {
		return nil, err
	}
	h.Console, err = console.New(console.Options{Store: d.Store, Instances: h.Instances, Auth: h.Auth, Syncs: h.Syncs, Events: h.Events, Provisioning: h.Provisioning, BaseURL: o.PublicURL, Log: log})
	if err != nil {
		return nil, err
	}
	h.API = httpapi.New(httpapi.Options{
		Store: d.Store, Instances: h.Instances, Auth: h.Auth, Log: log, Version: o.Version, Proxy: h.Proxy, SCIM: h.SCIM, Provisioning: h.Provisioning, Syncs: h.Syncs, Console: h.Console, Events: h.Events, Webhooks: h.Webhooks,
		Metrics: promhttp.HandlerFor(h.Registry, promhttp.HandlerOpts{}),
		Ready:   func(ctx context.Context) error { _, _, err := d.Store.MigrationVersion(ctx); return err },
	})
	// Every feature's jobs wait in one River queue, in the hub's database:
	// opened before the API serves, so that every job asked for is queued
	// at once.
	if d.SQL != nil {
		workers, queues := river.NewWorkers(), map[string]int{}
		for _, f := range []interface {
			AddWorkers(*river.Workers) error
			Queues() map[string]int
		}{h.Syncs, h.Events, h.Webhooks, h.Provisioning} {
			if err := f.AddWorkers(workers); err != nil {
				return nil, err
			}
			maps.Copy(queues, f.Queues())
		}
		if h.Queue, err = queue.Open(ctx, d.SQL, d.Backend, d.DSN, queue.Config{Workers: workers, Queues: queues, Log: log}); err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
		h.Syncs.UseQueue(h.Queue)
		h.Events.UseQueue(h.Queue)
		h.Webhooks.UseQueue(h.Queue)
		h.Provisioning.UseQueue(h.Queue)
	}
	return h, nil
}

// Handler is the hub's HTTP handler: the API, the proxy, the console.
func (h *Hub) Handler() http.Handler { return h.API.Handler() }

// Run runs the hub's background until ctx ends: token refreshes ahead of
// expiry, the sweeper of expired installs (every minute), the queue's
// workers (sync runs) and the syncs' sweeper,
// the key ring kept in step with its key file, and the replica's
// heartbeats. It returns a channel that says why the background stopped: an
// error if the queue's workers could not start, nil once ctx ended and
// everything stopped (runs in flight at their next page).
func (h *Hub) Run(ctx context.Context) <-chan error {
	ctx, cancel := context.WithCancel(ctx)
	var wg gosync.WaitGroup
	wg.Go(func() { h.Instances.RunRefresher(ctx, time.Minute) })
	sweep := time.NewTicker(time.Minute)
	wg.Go(func() {
		defer sweep.Stop()
		h.Instances.RunSweeper(ctx, sweep.C)
	})
	h.watchKeys(ctx, &wg)
	var queueErr error
	if h.Queue != nil {
		wg.Go(func() {
			// The workers return before ctx ends only when they cannot start.
			if queueErr = h.Queue.Work(ctx, h.Syncs.Serve, h.Events.Serve, h.Webhooks.Serve, h.Provisioning.Serve); queueErr != nil && ctx.Err() == nil {
				cancel()
			}
		})
	}
	done := make(chan error, 1)
	go func() {
		wg.Wait()
		cancel()
		if queueErr != nil {
			done <- fmt.Errorf("the job queue: %w", queueErr)
		}
		close(done)
	}()
	return done
}

// Close ends every wait for Slack's budget, present and future, so that the
// calls waiting are answered (503 shutting_down) rather than cut off when a
// shutdown's time runs out; and it ends the event streams, which would
// hold the shutdown up for as long as their readers stay (they reconnect
// and go on where they were).
func (h *Hub) Close() {
	if h.Pacer != nil {
		h.Pacer.Close()
	}
	h.Events.EndStreams()
}

// watchKeys keeps the key ring in step with its key file (on change, on
// SIGHUP, and when a secret names a key the ring lacks) and writes the
// replica's heartbeats, until ctx ends.
func (h *Hub) watchKeys(ctx context.Context, wg *gosync.WaitGroup) {
	d := h.DB
	beat := replica.New(d.Store, d.Keys, nil, h.log)
	if d.KeyFile != "" {
		reloader := secrets.NewReloader(d.KeyFile, d.Keys, secrets.ReloaderOptions{
			StillUsed: func(ctx context.Context, ids []string) (map[string]int, error) { return d.Store.SealedKeyCounts(ctx) },
			OnChange:  beat.Poke,
			Log:       h.log,
		})
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		poll := time.NewTicker(secrets.DefaultPollInterval)
		wg.Go(func() {
			defer signal.Stop(hup)
			defer poll.Stop()
			reloader.Run(ctx, poll.C, hup)
		})
	}
	// The first heartbeat is written before Run returns, so that a replica
	// serving is a replica `connhub keys promote` sees (Run beats again, and
	// logs a failure).
	beat.Beat(ctx)
	beats := time.NewTicker(replica.HeartbeatInterval)
	wg.Go(func() {
		defer beats.Stop()
		beat.Run(ctx, beats.C)
	})
}
