package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/slacksim"
)

// sandboxStateFile is where `serve --sandbox` keeps its sandbox, in the data
// directory beside the hub's database.
const sandboxStateFile = "sandbox-state.json"

// serveSandbox is what serve's --sandbox flags ask for.
type serveSandbox struct {
	on         bool
	edition    string
	users      int
	seed       int64
	rateWindow time.Duration
	reset      bool
	given      func(flag string) bool // whether the flag was on the command line
}

func (sb *serveSandbox) addFlags(cmd *cobra.Command) {
	def := slacksim.DefaultConfig()
	f := cmd.Flags()
	f.BoolVar(&sb.on, "sandbox", false, "run a Slack sandbox in this process and use it as Slack; it is kept in the data directory ("+sandboxStateFile+") across restarts")
	f.StringVar(&sb.edition, "sandbox-edition", string(def.Edition), "the sandbox's Slack plan: "+editionList()+" (a kept sandbox keeps its own unless this is given)")
	f.IntVar(&sb.users, "sandbox-users", def.Users, "accounts the sandbox generates, Slackbot not counted (a kept sandbox keeps its own unless this is given)")
	f.Int64Var(&sb.seed, "sandbox-seed", def.Seed, "seed of the sandbox's generated workspace and app (a kept sandbox keeps its own unless this is given)")
	f.DurationVar(&sb.rateWindow, "sandbox-rate-window", def.RateWindow, "length of the sandbox's one-minute rate window, e.g. 1s; the hub paces to it too unless --slack-rate-window is set")
	f.BoolVar(&sb.reset, "sandbox-reset", false, "start the sandbox afresh: a new world, app secret and tokens (the hub's instances of the old one stop working)")
	cmd.RegisterFlagCompletionFunc("sandbox-edition", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		out := make([]cobra.Completion, len(slacksim.Editions))
		for i, e := range slacksim.Editions {
			out[i] = string(e)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	sb.given = f.Changed
}

// sandboxSays is what the start line says of the sandbox: its edition, and
// on Enterprise Grid the org.
func sandboxSays(info slacksim.Info) string {
	if info.EnterpriseID != "" {
		return info.Edition + ", org " + info.EnterpriseID
	}
	return info.Edition + ", workspace " + info.TeamID
}

func editionList() string {
	names := make([]string, len(slacksim.Editions))
	for i, e := range slacksim.Editions {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

// validate checks the flags, each problem as one line.
func (sb *serveSandbox) validate() error {
	if !sb.on {
		for _, name := range []string{"sandbox-edition", "sandbox-users", "sandbox-seed", "sandbox-rate-window", "sandbox-reset"} {
			if sb.given(name) {
				return usageError{fmt.Errorf("--%s needs --sandbox", name)}
			}
		}
		return nil
	}
	var errs []error
	valid := false
	for _, e := range slacksim.Editions {
		valid = valid || string(e) == sb.edition
	}
	if !valid {
		errs = append(errs, fmt.Errorf("--sandbox-edition must be one of %s; got %q", editionList(), sb.edition))
	}
	if sb.users < 1 || sb.users > slacksim.MaxUsers {
		errs = append(errs, fmt.Errorf("--sandbox-users must be between 1 and %d; got %d", slacksim.MaxUsers, sb.users))
	}
	if sb.rateWindow < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("--sandbox-rate-window must be at least 10ms; got %s", sb.rateWindow))
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	return nil
}

// startSandbox runs the sandbox of `serve --sandbox` in this process until ctx
// is done, keeping its state in the data directory: a restart serves the same
// world, app and tokens, on the same port when it is free (on another, which
// the hub follows, when it is not). The channel is closed once the sandbox has
// stopped and written its state.
func startSandbox(ctx context.Context, dataDir string, sb serveSandbox, log *slog.Logger) (*slacksim.Server, slacksim.Info, <-chan struct{}, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, slacksim.Info{}, nil, fmt.Errorf("sandbox: create the data directory %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, sandboxStateFile)
	var prevAddr string // a reset sandbox still comes back where the old one was
	if sb.reset {
		if prev, err := slacksim.ReadState(path); err == nil {
			prevAddr = prev.Addr
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, slacksim.Info{}, nil, fmt.Errorf("sandbox: --sandbox-reset: %w", err)
		}
		log.Info("sandbox: --sandbox-reset: starting afresh", "path", path)
	}
	cfg := slacksim.DefaultConfig()
	cfg.Edition, cfg.Users, cfg.Seed, cfg.RateWindow = slacksim.Edition(sb.edition), sb.users, sb.seed, sb.rateWindow
	flags := map[string]string{"seed": "sandbox-seed", "users": "sandbox-users", "edition": "sandbox-edition"}
	srv, saved, err := openSavedSandbox(cfg, path, flags, sb.given, "--sandbox-reset", log.With("component", "sandbox"))
	if err != nil {
		return nil, slacksim.Info{}, nil, err
	}
	addr := "127.0.0.1:0"
	if saved.Addr != "" {
		addr = saved.Addr
	} else if prevAddr != "" {
		addr, saved.Addr = prevAddr, prevAddr
	}
	l, err := net.Listen("tcp", addr)
	if err != nil && addr != "127.0.0.1:0" {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			log.Warn("sandbox: the port it served on before is taken; serving on a free one, and the hub follows it", "was", saved.Addr, "now", l.Addr().String())
		}
	}
	if err != nil {
		return nil, slacksim.Info{}, nil, fmt.Errorf("sandbox: listen: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, l); err != nil && ctx.Err() == nil {
			log.Error("sandbox: serve", "err", err)
		}
	}()
	return srv, srv.Info("http://" + l.Addr().String()), done, nil
}

// subscribeSandbox points the sandbox app's Request URL at the hub's
// receiver, once the hub serves: the sandbox checks it with a
// url_verification first, as Slack does. The hub listens on l; a listener
// on every address is reached on the loopback one.
func subscribeSandbox(ctx context.Context, sb *slacksim.Server, scheme string, l net.Listener, log *slog.Logger) {
	addr := l.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	url := scheme + "://" + net.JoinHostPort(host, strconv.Itoa(addr.Port)) + "/v1/events/slack"
	st, err := sb.SetEventSubscription(ctx, slacksim.EventSubscription{RequestURL: url, BotEvents: slacksim.EventTypes})
	if err != nil {
		log.Warn("sandbox: the app's events could not be pointed at the hub; the hub receives none", "request_url", url, "err", err, "reason", st.Reason)
		return
	}
	log.Info("sandbox: the app's events go to the hub", "request_url", url, "events", len(slacksim.EventTypes))
}

// openSavedSandbox starts a sandbox kept in the state file at path. When the
// file exists, each world setting whose flag was not given (flags maps a
// setting to its flag; settings with no flag are never given) is the saved
// one, and a flag given with another value than the saved one is refused
// with what to do: the sandbox does not throw away the tokens a hub holds
// because a flag changed. resetFlag names the way to start afresh.
func openSavedSandbox(cfg slacksim.Config, path string, flags map[string]string, given func(string) bool, resetFlag string, log *slog.Logger) (*slacksim.Server, slacksim.SavedState, error) {
	saved, err := slacksim.ReadState(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		saved = slacksim.SavedState{}
	case err != nil:
		return nil, saved, fmt.Errorf("%w (or pass %s)", err, resetFlag)
	default:
		isGiven := func(setting string) bool { return flags[setting] != "" && given(flags[setting]) }
		sc := saved.Config
		if !isGiven("seed") {
			cfg.Seed = sc.Seed
		}
		if !isGiven("users") {
			cfg.Users = sc.Users
		}
		if !isGiven("channels") {
			cfg.Channels = sc.Channels
		}
		if !isGiven("edition") {
			cfg.Edition = sc.Edition
		}
		if !isGiven("workspaces") {
			cfg.Workspaces = sc.Workspaces
		}
	}
	srv, err := slacksim.New(cfg, slacksim.WithStateFile(path), slacksim.WithLogger(log))
	var mismatch *slacksim.StateMismatchError
	if errors.As(err, &mismatch) {
		return nil, saved, savedWith(mismatch, flags, resetFlag)
	}
	if err != nil {
		return nil, saved, err
	}
	return srv, saved, nil
}

// savedWith words a StateMismatchError with the command's flags.
func savedWith(e *slacksim.StateMismatchError, flags map[string]string, resetFlag string) error {
	s, a := e.Saved, e.Asked
	var diffs []string
	add := func(setting string, saved, asked any) {
		name := setting
		if flags[setting] != "" {
			name = "--" + flags[setting]
		}
		if saved != asked {
			diffs = append(diffs, fmt.Sprintf("%s %v (not %v)", name, saved, asked))
		}
	}
	add("seed", s.Seed, a.Seed)
	add("users", s.Users, a.Users)
	add("edition", s.Edition, a.Edition)
	add("channels", s.Channels, a.Channels)
	if s.Edition == a.Edition {
		add("workspaces", s.Workspaces, a.Workspaces)
	}
	return usageError{fmt.Errorf("the sandbox kept in %s was made with %s: leave the flag out to keep that sandbox and its tokens, or pass %s to start afresh",
		e.Path, strings.Join(diffs, ", "), resetFlag)}
}
