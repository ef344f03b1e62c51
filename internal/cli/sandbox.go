package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/slacksim"
)

// SandboxOptions are the flags of `connhub sandbox`.
type SandboxOptions struct {
	Addr          string
	Seed          int64
	Users         int
	Channels      int
	Workspaces    int
	Edition       string
	RateLimits    bool
	RateWindow    time.Duration
	TokenRotation bool
	TokenTTL      time.Duration
	RedirectURLs  []string
	LogRequests   bool
}

func newSandboxCmd(stdout, stderr io.Writer) *cobra.Command {
	def := slacksim.DefaultConfig()
	opts := SandboxOptions{}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the Slack sandbox, an offline emulator of the Slack platform",
		Long: "Run the Slack sandbox: Slack's OAuth pages and Web API methods, SCIM and rate limits,\n" +
			"over a workspace generated from --seed. The first line on stdout is one JSON object with\n" +
			"the URLs and the pre-registered app's credentials; logs go to stderr.\n\n" +
			"Without --redirect-url, any http(s) redirect URL on a loopback host is accepted.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunSandbox(cmd.Context(), opts, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", "127.0.0.1:8790", "address to listen on (port 0 picks a free one)")
	f.Int64Var(&opts.Seed, "seed", def.Seed, "seed of the generated workspace")
	f.IntVar(&opts.Users, "users", def.Users, "accounts to generate (Slackbot not counted)")
	f.IntVar(&opts.Channels, "channels", def.Channels, "channels to generate")
	f.IntVar(&opts.Workspaces, "workspaces", def.Workspaces, "workspaces in the org (enterprise_grid only)")
	f.StringVar(&opts.Edition, "edition", string(def.Edition), "Slack plan: free, pro, business_plus or enterprise_grid")
	f.BoolVar(&opts.RateLimits, "rate-limits", def.RateLimits, "answer 429 past each method's tier budget")
	f.DurationVar(&opts.RateWindow, "rate-window", def.RateWindow, "length of Slack's one-minute rate window (tests shrink it, e.g. 1s)")
	f.BoolVar(&opts.TokenRotation, "token-rotation", def.TokenRotation, "issue expiring tokens with refresh tokens")
	f.DurationVar(&opts.TokenTTL, "token-ttl", def.TokenTTL, "access-token lifetime under token rotation")
	f.StringArrayVar(&opts.RedirectURLs, "redirect-url", nil, "a registered redirect URL (repeatable; default: any loopback http(s) URL)")
	f.BoolVar(&opts.LogRequests, "log-requests", false, "log one line per Web API call to stderr")
	return cmd
}

// RunSandbox generates the workspace, listens, prints the start line and serves
// until ctx is done.
func RunSandbox(ctx context.Context, opts SandboxOptions, stdout, stderr io.Writer) error {
	cfg := slacksim.Config{
		Seed: opts.Seed, Users: opts.Users, Channels: opts.Channels, Workspaces: opts.Workspaces,
		Edition: slacksim.Edition(opts.Edition), RateLimits: opts.RateLimits, RateWindow: opts.RateWindow,
		TokenRotation: opts.TokenRotation, TokenTTL: opts.TokenTTL, RedirectURLs: opts.RedirectURLs,
		LogRequests: opts.LogRequests,
	}
	// Zero means "default" in slacksim.Config; on the command line it is a mistake.
	for _, c := range []struct {
		flag string
		bad  bool
	}{
		{"--users", opts.Users < 1}, {"--channels", opts.Channels < 1}, {"--workspaces", opts.Workspaces < 1},
		{"--rate-window", opts.RateWindow <= 0}, {"--token-ttl", opts.TokenTTL <= 0},
	} {
		if c.bad {
			return usageError{fmt.Errorf("%s must be positive", c.flag)}
		}
	}
	if err := cfg.WithDefaults().Validate(); err != nil {
		return usageError{err}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	started := time.Now()
	srv, err := slacksim.New(cfg, slacksim.WithLogger(log))
	if err != nil {
		return err
	}
	generated := time.Since(started)
	l, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w", opts.Addr, err)
	}
	info := srv.Info("http://" + l.Addr().String())
	line, err := json.Marshal(info)
	if err != nil {
		l.Close()
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		l.Close()
		return err
	}
	sum := srv.Summary()
	log.Info("sandbox: ready", "addr", l.Addr().String(), "edition", sum.Edition, "users", sum.Users["total"],
		"channels", len(sum.Channels), "messages", sum.Messages, "generated_in", generated.Round(time.Millisecond).String())
	if err := srv.Serve(ctx, l); err != nil && ctx.Err() == nil {
		return fmt.Errorf("sandbox: serve: %w", err)
	}
	log.Info("sandbox: stopped")
	return nil
}
