package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/console"
	"github.com/connhub/connhub/internal/httpapi"
	"github.com/connhub/connhub/internal/httpserver"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/proxy"
	"github.com/connhub/connhub/internal/ratelimit"
	"github.com/connhub/connhub/internal/replica"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slacksim"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
)

func newServeCmd(io streams) *cobra.Command {
	var sb serveSandbox
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run connhub: the web console, the REST API, OAuth callbacks and token refreshes",
		Long: "Run connhub. With --sandbox it starts a Slack sandbox in the same process, points itself at it\n" +
			"and registers the sandbox's app, so that one command gives a working hub with no Slack account.\n" +
			"The sandbox is kept in the data directory (" + sandboxStateFile + "): started again, it serves the\n" +
			"same workspace, app and tokens, on the same port when it is free; --sandbox-reset starts afresh.\n" +
			"--sandbox-edition enterprise_grid gives an Enterprise Grid org.\n" +
			"Without it, connhub talks to --slack-url (https://slack.com) with the apps registered through\n" +
			"the API or CONNHUB_SLACK_CLIENT_ID and CONNHUB_SLACK_CLIENT_SECRET.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sb.validate(); err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, io)
			if err != nil {
				return err
			}
			if sb.on && sb.given("sandbox-rate-window") && cfg.SlackRateWindow == config.DefaultSlackRateWindow {
				cfg.SlackRateWindow = sb.rateWindow.String() // pace to the sandbox's window
			}
			return runServe(cmd.Context(), cfg, sb, io)
		},
	}
	config.Flags(cmd.Flags())
	config.ServeFlags(cmd.Flags())
	sb.addFlags(cmd)
	return cmd
}

// defaultEdition is the edition whose scopes the hub's own apps ask for.
const defaultEdition = "business_plus"

func runServe(ctx context.Context, cfg config.Config, sandbox serveSandbox, io streams) error {
	withSandbox := sandbox.on
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := newLogger(cfg, io.stderr)

	hc := cfg.HTTP()
	// The server is built first so that a bad TLS key pair stops serve
	// before anything else starts; its handler is set below.
	srv, err := httpserver.New(nil, httpserver.Options{
		ReadHeaderTimeout: hc.ReadHeaderTimeout, ReadTimeout: hc.ReadTimeout, WriteTimeout: hc.WriteTimeout,
		IdleTimeout: hc.IdleTimeout, MaxHeaderBytes: hc.MaxHeaderBytes, TLSCert: hc.TLSCert, TLSKey: hc.TLSKey, Log: log,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another --addr)", cfg.Addr, err)
	}
	defer l.Close()
	publicURL := strings.TrimSuffix(cfg.PublicURL, "/")
	if publicURL == srv.Scheme()+"://"+cfg.Addr {
		publicURL = srv.Scheme() + "://" + l.Addr().String() // the real port, when --addr asked for port 0
	}

	slackURL := cfg.SlackURL
	var apps []instance.AppInput
	var sbInfo slacksim.Info
	if withSandbox {
		// The sandbox stops after the hub, whose shutdown may still call it,
		// and writes its state before serve returns.
		sbCtx, stopSandbox := context.WithCancel(context.WithoutCancel(ctx))
		sb, sbDone, err := startSandbox(sbCtx, cfg.DataDir, sandbox, log)
		if err != nil {
			stopSandbox()
			return err
		}
		defer func() { stopSandbox(); <-sbDone }()
		sbInfo = sb
		slackURL = strings.TrimSuffix(sb.APIURL, "/api/")
		apps = append(apps, appInput("connhub sandbox app", sb.ClientID, secrets.Secret(sb.ClientSecret), secrets.Secret(sb.SigningSecret)))
	}
	if cfg.SlackClientID != "" {
		apps = append(apps, appInput("Slack app "+cfg.SlackClientID, cfg.SlackClientID, cfg.SlackClientSecret, cfg.SlackSigningSecret))
	}

	h, err := openHub(ctx, cfg, io.stdout, log)
	if err != nil {
		return err
	}
	defer h.store.Close()
	keysDone := watchKeys(ctx, h, log)
	defer func() { cancel(); <-keysDone }() // before the store closes: a clean stop removes the heartbeat
	svc, err := instance.New(ctx, instance.Options{
		Store: h.store, Slack: slack.New(slackURL, &http.Client{Timeout: 30 * time.Second}), Log: log,
		CallbackURL: publicURL + "/v1/oauth/slack/callback",
	})
	if err != nil {
		return err
	}
	for _, app := range apps {
		if _, err := svc.EnsureApp(ctx, h.org.ID, app); err != nil {
			return fmt.Errorf("register the Slack app %s: %w", app.ClientID, err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Failed authentications are throttled per source address and per
	// credential, wherever they happen: the API, the proxy, the console.
	auth := &tenant.Authenticator{Store: h.store, Throttle: tenant.NewThrottle(tenant.DefaultThrottle), Metrics: tenant.NewMetrics(reg)}
	// One pacer for the proxy and the syncs: Slack's budgets are per
	// workspace and method, whoever calls. On PostgreSQL (by default) the
	// budgets are kept in the database, shared by every replica on it.
	popts := ratelimit.Options{Window: cfg.RateWindow(), Log: log}
	if cfg.PacerShared() {
		popts.Shared, popts.Replicas = h.store, countReplicas(ctx, h.store, log)
	}
	pacer := ratelimit.New(popts)
	registerPacerMetrics(reg, pacer, cfg.PacerShared())
	px, err := proxy.New(proxy.Options{SlackURL: slackURL, Instances: svc, Auth: auth, Log: log, Metrics: proxy.NewMetrics(reg), Pacer: pacer,
		MaxBodiesInFlight: hc.MaxBodiesInFlight})
	if err != nil {
		return err
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "connhub_proxy_bodies_in_flight_bytes",
		Help: "Request body bytes the proxy holds now, against --max-bodies-in-flight."}, func() float64 { return float64(px.BodiesInFlight()) }))
	caller, err := slackcall.New(slackcall.Options{SlackURL: slackURL, Tokens: svc, Pacer: pacer, Log: log})
	if err != nil {
		return err
	}
	syncs, err := sync.New(sync.Config{Store: h.store, Caller: caller, Log: log})
	if err != nil {
		return err
	}
	web, err := console.New(console.Options{Store: h.store, Instances: svc, Auth: auth, Syncs: syncs, BaseURL: publicURL, Log: log})
	if err != nil {
		return err
	}
	api := httpapi.New(httpapi.Options{
		Store: h.store, Instances: svc, Auth: auth, Log: log, Version: version(), Proxy: px, Syncs: syncs, Console: web,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Ready:   func(ctx context.Context) error { _, _, err := h.store.MigrationVersion(ctx); return err },
	})
	// Syncs wait in River, in the hub's database: attached before the API
	// serves, so that every run asked for is queued at once.
	if err := syncs.Attach(ctx, h.db, h.backend, h.dsn); err != nil {
		return err
	}
	go svc.RunRefresher(ctx, time.Minute)
	// Expired OAuth states are deleted, and installs whose every link
	// expired are failed, every minute.
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	go svc.RunSweeper(ctx, sweep.C)
	// The sync workers and their sweeper; they stop when ctx ends, runs in
	// flight at their next page.
	queue := make(chan error, 1)
	go func() { queue <- syncs.Serve(ctx, h.db, h.backend, h.dsn) }()

	srv.SetHandler(api.Handler())
	fmt.Fprintf(io.stdout, "connhub: serving on %s (console %s/, API %s/v1, OpenAPI %s/openapi.json)\n", publicURL, publicURL, publicURL, publicURL)
	if withSandbox {
		fmt.Fprintf(io.stdout, "connhub: Slack is the sandbox at %s (%s; controls at %s/_sandbox/; kept in %s)\n", slackURL, sandboxSays(sbInfo), slackURL,
			filepath.Join(cfg.DataDir, sandboxStateFile))
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	var failed error
	queueStopped := false
	select {
	case err := <-done:
		failed = fmt.Errorf("serve: %w", err)
	case err := <-queue:
		// The workers return before ctx ends only when they cannot start.
		failed, queueStopped = fmt.Errorf("serve: the sync queue: %w", err), true
	case <-ctx.Done():
	}
	cancel()
	// Calls waiting for Slack's budget are answered 503 shutting_down now,
	// rather than cut off when the shutdown's time runs out.
	pacer.Close()
	shutdown, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Warn("serve: shutdown", "err", err)
	}
	if !queueStopped {
		if err := <-queue; err != nil {
			log.Warn("serve: the sync queue did not stop cleanly", "err", err)
		}
	}
	if failed != nil {
		return failed
	}
	log.Info("serve: stopped")
	return nil
}

// watchKeys keeps the hub's key ring in step with its key file (on change,
// on SIGHUP, and when a secret names a key the ring lacks) and writes the
// replica's heartbeats, until ctx ends; the channel it returns is closed once
// both have stopped.
func watchKeys(ctx context.Context, h *hub, log *slog.Logger) <-chan struct{} {
	beat := replica.New(h.store, h.keys, nil, log)
	done := make(chan struct{})
	var wg gosync.WaitGroup
	if h.keyFile != "" {
		reloader := secrets.NewReloader(h.keyFile, h.keys, secrets.ReloaderOptions{
			StillUsed: func(ctx context.Context, ids []string) (map[string]int, error) { return h.store.SealedKeyCounts(ctx) },
			OnChange:  beat.Poke,
			Log:       log,
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
	beats := time.NewTicker(replica.HeartbeatInterval)
	wg.Go(func() {
		defer beats.Stop()
		beat.Run(ctx, beats.C)
	})
	go func() { wg.Wait(); close(done) }()
	return done
}

// registerPacerMetrics exposes what the pacer waits for and, with a shared
// budget, what this replica leased of it (docs/OPERATIONS.md).
func registerPacerMetrics(reg *prometheus.Registry, pacer *ratelimit.Pacer, shared bool) {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func(ratelimit.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(pacer.Stats())) })
	}
	isShared := 0.0
	if shared {
		isShared = 1
	}
	reg.MustRegister(
		gauge("connhub_pacer_waiting", "Calls waiting now for their method's budget at Slack.", func() float64 { return float64(pacer.Waiting()) }),
		gauge("connhub_pacer_lanes", "Budgets (app, workspace, method; channel) the pacer keeps now.", func() float64 { all, _ := pacer.Lanes(); return float64(all) }),
		gauge("connhub_pacer_shared", "1 when Slack's budgets are shared by every replica on the database, 0 when this replica paces alone.", func() float64 { return isShared }),
		gauge("connhub_pacer_shared_down", "1 while the shared budget is unreachable and this replica paces alone on its share.", func() float64 {
			if pacer.Stats().SharedDown {
				return 1
			}
			return 0
		}),
		counter("connhub_pacer_round_trips_total", "Round trips to the shared budget: leases and 429s told.", func(s ratelimit.Stats) int64 { return s.Leases + s.Blocks }),
		counter("connhub_pacer_slots_leased_total", "Slots (calls to Slack) this replica leased from the shared budget.", func(s ratelimit.Stats) int64 { return s.Leased }),
		counter("connhub_pacer_slots_unused_total", "Leased slots this replica did not use: the call was given up or came too late for its slot.", func(s ratelimit.Stats) int64 { return s.Unused }),
		counter("connhub_pacer_shared_failures_total", "Round trips to the shared budget that failed.", func(s ratelimit.Stats) int64 { return s.Failures }),
		counter("connhub_pacer_fallback_calls_total", "Calls paced alone, on a share of the budget, while the shared budget was unreachable.", func(s ratelimit.Stats) int64 { return s.Fallbacks }),
	)
}

// countReplicas counts the live replicas (their heartbeats) now and every
// heartbeat interval until ctx ends, and returns the latest count, at least
// one: the share of each budget a replica keeps to while the shared budget is
// unreachable is the budget divided by it.
func countReplicas(ctx context.Context, s store.Store, log *slog.Logger) func() int {
	var n atomic.Int64
	n.Store(1)
	count := func() {
		live, err := replica.Live(ctx, s, time.Now())
		if err != nil {
			log.Debug("pacer: count the live replicas", "err", err)
			return
		}
		n.Store(int64(max(len(live), 1)))
	}
	count()
	go func() {
		tick := time.NewTicker(replica.HeartbeatInterval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				count()
			}
		}
	}()
	return func() int { return int(n.Load()) }
}

func appInput(name, clientID string, secret, signing secrets.Secret) instance.AppInput {
	c, _ := connector.Get("slack")
	e, _ := c.Edition(defaultEdition)
	return instance.AppInput{Name: name, ClientID: clientID, ClientSecret: secret, SigningSecret: signing, BotScopes: e.BotScopes, UserScopes: e.UserScopes}
}
