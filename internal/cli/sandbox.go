package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
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

	// StateFile keeps the sandbox's world, app and tokens across restarts;
	// "" keeps them for this run only. Reset removes it first.
	StateFile string
	Reset     bool
	// Given reports whether a flag was on the command line: with a state
	// file, the world settings not given are the saved ones. nil: all given.
	Given func(flag string) bool
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
			"Without --redirect-url, any http(s) redirect URL on a loopback host is accepted.\n\n" +
			"With --state-file the sandbox keeps its world (and its changes), its app and every token it\n" +
			"issued in that file: started again on it, it serves them as they were, and the world flags\n" +
			"not given are the saved ones. --reset starts afresh.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Given = cmd.Flags().Changed
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
	f.StringVar(&opts.StateFile, "state-file", "", "keep the sandbox's world, app and tokens in this file across restarts (written 0600: it holds tokens)")
	f.BoolVar(&opts.Reset, "reset", false, "with --state-file: start afresh, replacing what the file kept")
	cmd.RegisterFlagCompletionFunc("edition", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return strings.Split(editionList(), ", "), cobra.ShellCompDirectiveNoFileComp
	})
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
	if opts.Reset && opts.StateFile == "" {
		return usageError{errors.New("--reset needs --state-file")}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	started := time.Now()
	var srv *slacksim.Server
	var err error
	if opts.StateFile == "" {
		srv, err = slacksim.New(cfg, slacksim.WithLogger(log))
	} else {
		srv, err = openStateFile(cfg, opts, log)
	}
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
		"channels", sum.ChannelCount(), "direct_messages", sum.Channels["im"]+sum.Channels["mpim"], "messages", sum.Messages, "generated_in", generated.Round(time.Millisecond).String())
	if err := srv.Serve(ctx, l); err != nil && ctx.Err() == nil {
		return fmt.Errorf("sandbox: serve: %w", err)
	}
	log.Info("sandbox: stopped")
	return nil
}

// openStateFile starts the sandbox kept in opts.StateFile (see openSavedSandbox).
func openStateFile(cfg slacksim.Config, opts SandboxOptions, log *slog.Logger) (*slacksim.Server, error) {
	if opts.Reset {
		if err := os.Remove(opts.StateFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sandbox: --reset: %w", err)
		}
	}
	given := opts.Given
	if given == nil {
		given = func(string) bool { return true }
	}
	flags := map[string]string{"seed": "seed", "users": "users", "channels": "channels", "workspaces": "workspaces", "edition": "edition"}
	srv, _, err := openSavedSandbox(cfg, opts.StateFile, flags, given, "--reset", log)
	return srv, err
}
