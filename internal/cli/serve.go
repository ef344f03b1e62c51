package cli

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/events"
	"github.com/connhub/connhub/internal/httpserver"
	"github.com/connhub/connhub/internal/hub"
	"github.com/connhub/connhub/internal/instance"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slacksim"
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
	var sbSrv *slacksim.Server
	if withSandbox {
		// The sandbox stops after the hub, whose shutdown may still call it,
		// and writes its state before serve returns.
		sbCtx, stopSandbox := context.WithCancel(context.WithoutCancel(ctx))
		sbServer, sb, sbDone, err := startSandbox(sbCtx, cfg.DataDir, sandbox, log)
		if err != nil {
			stopSandbox()
			return err
		}
		defer func() { stopSandbox(); <-sbDone }()
		sbInfo, sbSrv = sb, sbServer
		slackURL = strings.TrimSuffix(sb.APIURL, "/api/")
		apps = append(apps, appInput("connhub sandbox app", sb.ClientID, secrets.Secret(sb.ClientSecret), secrets.Secret(sb.SigningSecret)))
	}
	if cfg.SlackClientID != "" {
		apps = append(apps, appInput("Slack app "+cfg.SlackClientID, cfg.SlackClientID, cfg.SlackClientSecret, cfg.SlackSigningSecret))
	}

	db, err := openHub(ctx, cfg, io.stdout, log)
	if err != nil {
		return err
	}
	defer db.Store.Close()
	h, err := hub.New(ctx, hub.Options{Database: db, SlackURL: slackURL, PublicURL: publicURL, RateWindow: cfg.RateWindow(), SharedPacer: cfg.PacerShared(), Apps: apps,
		MaxBodiesInFlight: hc.MaxBodiesInFlight, Version: version(), Log: log,
		WebhookAllowPrivate: cfg.WebhookAllowPrivate == "true", Events: func(o *events.Options) { o.StreamPoll = cfg.StreamPoll() },
		RunLease: cfg.Lease()})
	if err != nil {
		return err
	}
	background := h.Run(ctx)
	// The background stops before the store closes: a clean stop removes
	// the replica's heartbeat.
	defer func() { cancel(); <-background }()

	srv.SetHandler(h.Handler())
	fmt.Fprintf(io.stdout, "connhub: serving on %s (console %s/, API %s/v1, OpenAPI %s/openapi.json)\n", publicURL, publicURL, publicURL, publicURL)
	if withSandbox {
		fmt.Fprintf(io.stdout, "connhub: Slack is the sandbox at %s (%s; controls at %s/_sandbox/; kept in %s)\n", slackURL, sandboxSays(sbInfo), slackURL,
			filepath.Join(cfg.DataDir, sandboxStateFile))
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	if sbSrv != nil {
		go subscribeSandbox(ctx, sbSrv, srv.Scheme(), l, log)
	}
	var failed error
	select {
	case err := <-done:
		failed = fmt.Errorf("serve: %w", err)
	case err := <-background:
		if err != nil {
			failed = fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	cancel()
	// Calls waiting for Slack's budget are answered 503 shutting_down now,
	// rather than cut off when the shutdown's time runs out.
	h.Close()
	shutdown, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Warn("serve: shutdown", "err", err)
	}
	if failed != nil {
		return failed
	}
	log.Info("serve: stopped")
	return nil
}

func appInput(name, clientID string, secret, signing secrets.Secret) instance.AppInput {
	c, _ := connector.Get("slack")
	e, _ := c.Edition(defaultEdition)
	return instance.AppInput{Name: name, ClientID: clientID, ClientSecret: secret, SigningSecret: signing, BotScopes: e.BotScopes, UserScopes: e.UserScopes}
}
