package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	gosync "sync"
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
	"github.com/connhub/connhub/internal/sync"
	"github.com/connhub/connhub/internal/tenant"
)

func newServeCmd(io streams) *cobra.Command {
	var withSandbox bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run connhub: the web console, the REST API, OAuth callbacks and token refreshes",
		Long: "Run connhub. With --sandbox it starts a Slack sandbox in the same process, points itself at it\n" +
			"and registers the sandbox's app, so that one command gives a working hub with no Slack account.\n" +
			"Without it, connhub talks to --slack-url (https://slack.com) with the apps registered through\n" +
			"the API or CONNHUB_SLACK_CLIENT_ID and CONNHUB_SLACK_CLIENT_SECRET.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd, io)
			if err != nil {
				return err
			}
			return runServe(cmd.Context(), cfg, withSandbox, io)
		},
	}
	config.Flags(cmd.Flags())
	config.ServeFlags(cmd.Flags())
	cmd.Flags().BoolVar(&withSandbox, "sandbox", false, "run a Slack sandbox in this process and use it as Slack")
	return cmd
}

// defaultEdition is the edition whose scopes the hub's own apps ask for.
const defaultEdition = "business_plus"

func runServe(ctx context.Context, cfg config.Config, withSandbox bool, io streams) error {
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
	if withSandbox {
		sb, err := startSandbox(ctx, log)
		if err != nil {
			return err
		}
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
	// One pacer and one stack to call Slack, for the proxy, the syncs, the
	// installs and the token refreshes: Slack's budgets are per workspace
	// and method, whoever calls (internal/slackcall).
	pacer := ratelimit.New(ratelimit.Options{Window: cfg.RateWindow()})
	stack := slackcall.NewStack(slackcall.StackOptions{Pacer: pacer, Log: log})
	svc, err := instance.New(ctx, instance.Options{
		Store: h.store, Slack: slack.New(slackURL, stack.Client(slackcall.InstallPolicy, 30*time.Second)), Log: log,
		CallbackURL: publicURL + "/v1/oauth/slack/callback",
	})
	if err != nil {
		return err
	}
	stack = stack.WithTokens(svc)
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
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "connhub_pacer_waiting", Help: "Calls waiting now for their method's budget at Slack."},
			func() float64 { return float64(pacer.Waiting()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "connhub_pacer_lanes", Help: "Budgets (app, workspace, method; channel) the pacer keeps now."},
			func() float64 { all, _ := pacer.Lanes(); return float64(all) }))
	px, err := proxy.New(proxy.Options{SlackURL: slackURL, Instances: svc, Auth: auth, Log: log, Metrics: proxy.NewMetrics(reg), Stack: stack,
		MaxBodiesInFlight: hc.MaxBodiesInFlight})
	if err != nil {
		return err
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "connhub_proxy_bodies_in_flight_bytes",
		Help: "Request body bytes the proxy holds now, against --max-bodies-in-flight."}, func() float64 { return float64(px.BodiesInFlight()) }))
	caller, err := slackcall.New(slackcall.Options{SlackURL: slackURL, Stack: stack})
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
		fmt.Fprintf(io.stdout, "connhub: Slack is the sandbox at %s (controls at %s/_sandbox/)\n", slackURL, slackURL)
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

func appInput(name, clientID string, secret, signing secrets.Secret) instance.AppInput {
	c, _ := connector.Get("slack")
	e, _ := c.Edition(defaultEdition)
	return instance.AppInput{Name: name, ClientID: clientID, ClientSecret: secret, SigningSecret: signing, BotScopes: e.BotScopes, UserScopes: e.UserScopes}
}

// startSandbox runs a Slack sandbox in this process on a free loopback port,
// for `serve --sandbox`, until ctx is done.
func startSandbox(ctx context.Context, log *slog.Logger) (slacksim.Info, error) {
	sb, err := slacksim.New(slacksim.DefaultConfig(), slacksim.WithLogger(log.With("component", "sandbox")))
	if err != nil {
		return slacksim.Info{}, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return slacksim.Info{}, fmt.Errorf("sandbox: listen: %w", err)
	}
	go func() {
		if err := sb.Serve(ctx, l); err != nil && ctx.Err() == nil {
			log.Error("sandbox: serve", "err", err)
		}
	}()
	return sb.Info("http://" + l.Addr().String()), nil
}
