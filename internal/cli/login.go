package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/connhub/connhub/pkg/connhub"
)

// `connhub login` saves a hub and a token as a named context in the CLI's
// config file, after the hub has taken the token; the client commands then
// call the current context's hub (client.go, hub, says in what order flags,
// the environment and the context count). The file is the CLI's, not the
// hub's (which is --config, CONNHUB_CONFIG):
//
//	CONNHUB_CLI_CONFIG, else $XDG_CONFIG_HOME/connhub/cli.yaml, else
//	~/.config/connhub/cli.yaml (%AppData%\connhub\cli.yaml on Windows)
//
// It holds tokens, so it is written readable by its owner only (0600, in a
// directory made 0700), through a temporary file renamed into place, and a
// token is not read from it while others may read it. No command prints a
// token from it: `context list` shows each server and a hint.

// cliConfigEnv names the CLI's config file, for tests and for more than one.
const cliConfigEnv = "CONNHUB_CLI_CONFIG"

// cliConfig is the CLI's config file.
type cliConfig struct {
	Current  string                `yaml:"current_context,omitempty"`
	Contexts map[string]hubContext `yaml:"contexts,omitempty"`
	path     string
	exists   bool
}

// hubContext is a hub and the token to call it with.
type hubContext struct {
	Server string `yaml:"server"`
	Token  string `yaml:"token"`
}

// cliConfigPath is where the CLI's config file is; "" when the environment
// does not say (no HOME).
func cliConfigPath(getenv func(string) string) string {
	if p := getenv(cliConfigEnv); p != "" {
		return p
	}
	if x := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "connhub", "cli.yaml")
	}
	if a := getenv("AppData"); runtime.GOOS == "windows" && a != "" {
		return filepath.Join(a, "connhub", "cli.yaml")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "connhub", "cli.yaml")
	}
	return ""
}

// loadCLIConfig reads the CLI's config file; one without contexts when
// there is none.
func loadCLIConfig(getenv func(string) string) (*cliConfig, error) {
	c := &cliConfig{path: cliConfigPath(getenv)}
	if c.path == "" {
		return c, nil
	}
	b, err := os.ReadFile(c.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", c.path, errors.Unwrap(err))
	}
	c.exists = true
	if err := yaml.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s is not connhub's CLI config (%v): remove it, then `connhub login` again", c.path, err)
	}
	return c, nil
}

// private refuses a config file that others may read: a token in it may
// have been read already. Any write makes it private again.
func (c *cliConfig) private() error {
	if runtime.GOOS == "windows" || !c.exists {
		return nil
	}
	fi, err := os.Stat(c.path)
	if err != nil {
		return err
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("%s holds tokens but others may read it (mode %04o): run `chmod 600 %s`, and revoke its tokens if others could have read them", c.path, m, c.path)
	}
	return nil
}

// save writes the file readable by its owner only, whatever its mode was.
func (c *cliConfig) save() error {
	if c.path == "" {
		return fmt.Errorf("nowhere to save the CLI's config: set HOME, XDG_CONFIG_HOME or %s", cliConfigEnv)
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return fmt.Errorf("save %s: %w", c.path, err)
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	err = writePrivateFile(c.path, func(w io.Writer) error {
		_, err := w.Write(append([]byte("# connhub's CLI config: `connhub login` writes it. It holds tokens: keep it private (0600).\n"), b...))
		return err
	})
	if err != nil {
		return fmt.Errorf("save %s: %w", c.path, err)
	}
	c.exists = true
	return nil
}

// names are the contexts' names, in order.
func (c *cliConfig) names() []string {
	names := make([]string, 0, len(c.Contexts))
	for n := range c.Contexts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// known says there is no such context, and which there are.
func (c *cliConfig) known() string {
	if len(c.Contexts) == 0 {
		return "there is no context: `connhub login` makes one"
	}
	return fmt.Sprintf("no such context; there are %s (connhub context list)", strings.Join(c.names(), ", "))
}

// tokenHint shows what a token is without showing it: its kind (the letters
// before its first _) and four characters, or nothing.
func tokenHint(token string) string {
	i := strings.IndexByte(token, '_')
	if i < 1 || i > 8 || len(token) < i+24 {
		return "(set)"
	}
	return token[:i+5] + "…"
}

type loginOptions struct {
	Server     string
	Context    string
	TokenStdin bool
	Token      string
}

func newLoginCmd(io streams) *cobra.Command {
	opts := loginOptions{}
	cmd := &cobra.Command{
		Use:   "login [--server URL] [--context NAME] [--token-stdin]",
		Short: "Save a hub and an API token as a context, once the hub has taken the token",
		Long: "Save the hub at --server (else CONNHUB_SERVER, else " + defaultServer + ") and an API token as the\n" +
			"context --context (default \"default\"), and make it the current one: the client commands then\n" +
			"call that hub with that token. The token is asked for without echo on a terminal, or read from\n" +
			"stdin with --token-stdin (`connhub login --token-stdin < token.txt`); --token puts it in your\n" +
			"shell's history and in ps, and is there only for when nothing else will do.\n\n" +
			"The hub is asked who the token belongs to (GET /v1/me) first: a token it refuses is not saved.\n" +
			"The contexts are kept in " + "$XDG_CONFIG_HOME/connhub/cli.yaml (or CONNHUB_CLI_CONFIG), readable by\n" +
			"you only. `connhub context` lists and switches them, `connhub logout` removes one.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogin(cmd.Context(), opts, io)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Server, "server", "", "URL of the hub (env CONNHUB_SERVER; default "+defaultServer+")")
	f.StringVar(&opts.Context, "context", "default", "the name to save the hub and token under")
	f.BoolVar(&opts.TokenStdin, "token-stdin", false, "read the token from stdin")
	f.StringVar(&opts.Token, "token", "", "the token itself (it stays in your shell's history: prefer the prompt or --token-stdin)")
	cmd.RegisterFlagCompletionFunc("context", completeContexts(io))
	return cmd
}

func runLogin(ctx context.Context, opts loginOptions, io streams) error {
	name := strings.TrimSpace(opts.Context)
	if name == "" || strings.ContainsAny(name, " \t\n") {
		return usageError{fmt.Errorf("--context %q: want a name without spaces, e.g. prod", opts.Context)}
	}
	server, err := serverURL(opts.Server, io.getenv("CONNHUB_SERVER"), defaultServer)
	if err != nil {
		return err
	}
	cfg, err := loadCLIConfig(io.getenv)
	if err != nil {
		return err
	}
	token, err := loginToken(ctx, opts, io)
	if err != nil {
		return err
	}
	h := newHubClient(server, token, output{format: "table"}, io)
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	me, err := h.Me(vctx)
	var e *connhub.Error
	switch {
	case errors.As(err, &e) && e.Status == 401:
		return fmt.Errorf("the hub at %s refused the token: %s (%s); nothing was saved", server, e.Message, e.Code)
	case err != nil:
		return fmt.Errorf("%w; nothing was saved", h.fail(err))
	}
	if cfg.Contexts == nil {
		cfg.Contexts = map[string]hubContext{}
	}
	cfg.Contexts[name] = hubContext{Server: server, Token: token}
	cfg.Current = name
	if err := cfg.save(); err != nil {
		return err
	}
	who := "instance " + me.InstanceID
	if me.User != nil {
		who = me.User.Email + " (" + me.User.Role + ")"
	}
	fmt.Fprintf(io.stdout, "connhub: logged in to %s as %s in organization %s; context %q is current (saved in %s)\n",
		server, who, nameID(me.Organization.Name, me.Organization.ID), name, cfg.path)
	return nil
}

// loginToken reads the token to log in with: --token, else stdin with
// --token-stdin, else a prompt without echo.
func loginToken(ctx context.Context, opts loginOptions, ios streams) (string, error) {
	var token string
	switch {
	case opts.Token != "" && opts.TokenStdin:
		return "", usageError{errors.New("--token and --token-stdin are two ways to give the token: choose one")}
	case opts.Token != "":
		fmt.Fprintln(ios.stderr, "connhub: warning: --token leaves the token in your shell's history and in ps; prefer --token-stdin or the prompt")
		token = opts.Token
	case opts.TokenStdin:
		f := stdin()
		if f == nil {
			return "", usageError{errors.New("--token-stdin: there is no stdin to read the token from")}
		}
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("--token-stdin: %w", err)
		}
		token = line
	case stdinTerminal():
		t, err := readHidden(ctx, stdin(), func() { fmt.Fprint(ios.stderr, "API token (input hidden): ") })
		fmt.Fprintln(ios.stderr)
		if err != nil {
			return "", err
		}
		token = t
	default:
		return "", usageError{errors.New("no token: pipe it in with --token-stdin, or run `connhub login` at a terminal to be asked for it")}
	}
	if token = strings.TrimSpace(token); token == "" {
		return "", usageError{errors.New("the token is empty")}
	}
	return token, nil
}

func newLogoutCmd(io streams) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "logout [--context NAME]",
		Short: "Remove a context and its token from the CLI's config (the current one by default)",
		Long: "Remove the context --context (default: the current one) and its token from the CLI's config\n" +
			"file. The token itself still works at the hub until it is revoked (`connhub tokens revoke`).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContextDelete(name, io)
		},
	}
	cmd.Flags().StringVar(&name, "context", "", "the context to remove (default: the current one)")
	cmd.RegisterFlagCompletionFunc("context", completeContexts(io))
	return cmd
}

// runContextDelete removes a context, the current one when name is "".
func runContextDelete(name string, io streams) error {
	cfg, err := loadCLIConfig(io.getenv)
	if err != nil {
		return err
	}
	if name == "" {
		if name = cfg.Current; name == "" {
			return errors.New("not logged in: there is no current context (connhub context list)")
		}
	}
	hc, ok := cfg.Contexts[name]
	if !ok {
		return fmt.Errorf("context %q: %s", name, cfg.known())
	}
	delete(cfg.Contexts, name)
	if cfg.Current == name {
		cfg.Current = ""
	}
	if err := cfg.save(); err != nil {
		return err
	}
	fmt.Fprintf(io.stdout, "connhub: removed context %q (%s) and its token from %s; the token still works at the hub until revoked (`connhub tokens revoke`)\n",
		name, hc.Server, cfg.path)
	return nil
}

// contextInfo is what `context list` and `context current` show of a
// context: never its token.
type contextInfo struct {
	Name      string `json:"name"`
	Server    string `json:"server"`
	TokenHint string `json:"token_hint"`
	Current   bool   `json:"current"`
}

func newContextCmd(ios streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "context",
		Aliases: []string{"contexts"},
		Short:   "List, switch and remove the hubs `connhub login` saved",
		Long: "A context is a hub and an API token that `connhub login` saved under a name. The client\n" +
			"commands call the current context's hub unless --server, --context, CONNHUB_SERVER or\n" +
			"CONNHUB_TOKEN say otherwise. No command shows a context's token: only a hint of it.",
	}
	var out outputFlags
	show := func(cmd *cobra.Command, v any, table func(io.Writer) error) error {
		o, err := out.resolve()
		if err != nil {
			return err
		}
		if !o.human() {
			return o.emit(ios.stdout, v)
		}
		return table(ios.stdout)
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the contexts: name, server and a hint of the token",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadCLIConfig(ios.getenv)
			if err != nil {
				return err
			}
			infos := []contextInfo{}
			for _, n := range cfg.names() {
				infos = append(infos, contextInfo{n, cfg.Contexts[n].Server, tokenHint(cfg.Contexts[n].Token), n == cfg.Current})
			}
			return show(cmd, infos, func(w io.Writer) error {
				tw := newTable(w)
				row(tw, "CURRENT", "NAME", "SERVER", "TOKEN")
				for _, c := range infos {
					row(tw, map[bool]string{true: "*", false: " "}[c.Current], c.Name, c.Server, c.TokenHint)
				}
				return tw.Flush()
			})
		},
	}
	current := &cobra.Command{
		Use:   "current",
		Short: "Print the current context's name and server",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadCLIConfig(ios.getenv)
			if err != nil {
				return err
			}
			hc, ok := cfg.Contexts[cfg.Current]
			if !ok {
				return errors.New("there is no current context: `connhub login` makes one, `connhub context use NAME` chooses one")
			}
			info := contextInfo{cfg.Current, hc.Server, tokenHint(hc.Token), true}
			return show(cmd, info, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "%s\t%s\n", info.Name, info.Server)
				return err
			})
		},
	}
	use := &cobra.Command{
		Use:               "use NAME",
		Short:             "Make a context the current one",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: completeContexts(ios),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadCLIConfig(ios.getenv)
			if err != nil {
				return err
			}
			hc, ok := cfg.Contexts[args[0]]
			if !ok {
				return fmt.Errorf("context %q: %s", args[0], cfg.known())
			}
			cfg.Current = args[0]
			if err := cfg.save(); err != nil {
				return err
			}
			fmt.Fprintf(ios.stdout, "connhub: context %q (%s) is current\n", args[0], hc.Server)
			return nil
		},
	}
	del := &cobra.Command{
		Use:               "delete NAME",
		Short:             "Remove a context and its token (as `connhub logout --context NAME`)",
		Args:              exactArgs("NAME"),
		ValidArgsFunction: completeContexts(ios),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContextDelete(args[0], ios)
		},
	}
	use.Annotations = map[string]string{annotationOutput: "none"}
	del.Annotations = map[string]string{annotationOutput: "none"}
	cmd.AddCommand(list, current, use, del)
	out.registerOutputs(cmd, list)
	return cmd
}
