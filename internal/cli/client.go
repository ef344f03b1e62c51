package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/connhub/connhub/internal/config"
	"github.com/connhub/connhub/internal/tenant"
	"github.com/connhub/connhub/pkg/connhub"
)

// The client commands (apps, instances, credentials) call a running hub's
// REST API through the Go SDK, pkg/connhub, as any other program would.
// They find the hub at --server and the credentials in the environment or in
// the file the hub's first start wrote, so that on the machine where
// `connhub serve --sandbox` runs they need no setup. Secrets are never flags:
// they come from the environment, or from a prompt on a terminal.

// defaultServer is where `connhub serve` listens by default.
const defaultServer = "http://127.0.0.1:8080"

// newClientCmds returns the commands that talk to a hub, and `token`.
func newClientCmds(io streams) []*cobra.Command {
	return []*cobra.Command{newAppsCmd(io), newInstancesCmd(io), newCredentialsCmd(io), newTokenCmd(io),
		newStreamsCmd(io), newSyncCmd(io), newRecordsCmd(io), newExportCmd(io),
		newEventsCmd(io), newWebhooksCmd(io), newSCIMCmd(io), newProvisionCmd(io), newOrgsCmd(io), newUsersCmd(io), newTokensCmd(io), newAuditCmd(io), newLoginCmd(io), newLogoutCmd(io),
		newContextCmd(io)}
}

// clientFlags are the flags of every command that calls a hub.
type clientFlags struct {
	Server  string
	DataDir string
	Context string
	outputFlags
}

// register registers the flags that find the hub. Each command that prints
// data has -o and --jq of its own (output.go).
func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Server, "server", "", "URL of the connhub hub (env CONNHUB_SERVER, else the context's; default "+defaultServer+")")
	fs.StringVar(&f.Context, "context", "", "the context saved by connhub login whose hub to call (env CONNHUB_CONTEXT; default the current one)")
	fs.StringVar(&f.DataDir, "data-dir", "", "the hub's data directory, whose admin-credentials file gives the API token when CONNHUB_TOKEN is unset and no context is logged in (env CONNHUB_DATA_DIR; default $XDG_DATA_HOME/connhub, else ~/.local/share/connhub)")
	f.Format = "table"
}

// dataDir is --data-dir, else CONNHUB_DATA_DIR, else the hub's default (see
// config.DefaultDataDir), so that a client on the hub's machine finds the
// admin-credentials file that the hub's first start wrote.
func (f clientFlags) dataDir(getenv func(string) string) string {
	if f.DataDir != "" {
		return f.DataDir
	}
	if d := getenv("CONNHUB_DATA_DIR"); d != "" {
		return d
	}
	return config.DefaultDataDir(getenv)
}

// hub finds the hub and the credential to call it with. Flags come first,
// then the environment, then the context `connhub login` saved:
//
//	the hub         --server, else --context's server, else CONNHUB_SERVER,
//	                else the context's (CONNHUB_CONTEXT or the current one),
//	                else the default
//	the credential  --context's token, else CONNHUB_TOKEN (an API token, an
//	                instance token or the Open Connectors header value), else
//	                CONNHUB_ADMIN_TOKEN, else the context's token, else the
//	                api_token line of the admin-credentials file that the
//	                hub's first start wrote to its data directory
//
// A context's token goes only to the context's own server: with another hub
// named, it is left out.
func (f clientFlags) hub(getenv func(string) string) (server, token string, err error) {
	hc, err := f.loggedIn(getenv)
	if err != nil {
		return "", "", err
	}
	explicit := f.Context != ""
	server, err = serverURL(f.Server, map[bool]string{true: hc.Server}[explicit], getenv("CONNHUB_SERVER"), hc.Server, defaultServer)
	if err != nil {
		return "", "", err
	}
	ours := hc.Token != "" && server == hc.Server
	if explicit && ours {
		return server, hc.Token, nil
	}
	token, err = f.token(getenv, map[bool]string{true: hc.Token}[ours])
	return server, token, err
}

// serverURL is the first of candidates that is set, checked to be an
// http(s) URL, without a trailing slash.
func serverURL(candidates ...string) (string, error) {
	var server string
	for _, s := range candidates {
		if s = strings.TrimSpace(s); s != "" {
			server = strings.TrimRight(s, "/")
			break
		}
	}
	if u, err := url.Parse(server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usageError{fmt.Errorf("--server %q: want the hub's http(s) URL, e.g. %s", server, defaultServer)}
	}
	return server, nil
}

// loggedIn is the context the flags and the environment choose: --context,
// else CONNHUB_CONTEXT, else the current one; none when there is no config
// file or no current context.
func (f clientFlags) loggedIn(getenv func(string) string) (hubContext, error) {
	name, how := f.Context, "--context"
	if name == "" {
		name, how = strings.TrimSpace(getenv("CONNHUB_CONTEXT")), "CONNHUB_CONTEXT"
	}
	cfg, err := loadCLIConfig(getenv)
	switch {
	case err != nil && name == "":
		return hubContext{}, nil // a broken file matters only to who names a context
	case err != nil:
		return hubContext{}, err
	case name == "":
		name, how = cfg.Current, ""
	}
	hc, ok := cfg.Contexts[name]
	switch {
	case name == "":
		return hubContext{}, nil
	case !ok && how != "":
		return hubContext{}, usageError{fmt.Errorf("%s %q: %s", how, name, cfg.known())}
	case ok:
		if err := cfg.private(); err != nil {
			return hubContext{}, err
		}
	}
	return hc, nil
}

// token finds the credential: CONNHUB_TOKEN, else CONNHUB_ADMIN_TOKEN, else
// fromContext, else the api_token line of the admin-credentials file.
func (f clientFlags) token(getenv func(string) string, fromContext string) (string, error) {
	for _, t := range []string{getenv("CONNHUB_TOKEN"), getenv("CONNHUB_ADMIN_TOKEN"), fromContext} {
		if t = strings.TrimSpace(t); t != "" {
			return t, nil
		}
	}
	const how = "run `connhub login`, or set CONNHUB_TOKEN to an API token (chub_…): `connhub serve` prints one on its first start and writes it to DATA_DIR/admin-credentials"
	dir := f.dataDir(getenv)
	if dir == "" {
		return "", usageError{errors.New("no API token: " + how)}
	}
	file := filepath.Join(dir, tenant.CredentialsFile)
	t, err := apiTokenFrom(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", usageError{fmt.Errorf("no API token: CONNHUB_TOKEN is unset and there is no %s; %s", file, how)}
	case err != nil:
		return "", usageError{fmt.Errorf("no API token: CONNHUB_TOKEN is unset and %s cannot be read (%v); %s", file, errors.Unwrap(err), how)}
	case t == "":
		return "", usageError{fmt.Errorf("no API token: CONNHUB_TOKEN is unset and %s holds no api_token line (the hub's admin token is its CONNHUB_ADMIN_TOKEN); %s", file, how)}
	}
	return t, nil
}

// apiTokenFrom reads the value of the api_token= line of an admin-credentials
// file; "" if it has none.
func apiTokenFrom(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "api_token="); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", sc.Err()
}

// hubClient is a client of the hub that the flags and the environment name.
type hubClient struct {
	*connhub.Client
	server string
	out    output
	io     streams
}

// connect checks the flags and finds the hub and the credentials.
func (f clientFlags) connect(io streams) (*hubClient, error) {
	out, err := f.outputFlags.resolve()
	if err != nil {
		return nil, err
	}
	server, token, err := f.hub(io.getenv)
	if err != nil {
		return nil, err
	}
	return newHubClient(server, token, out, io), nil
}

func newHubClient(server, token string, out output, io streams) *hubClient {
	c := connhub.New(server, token, connhub.WithUserAgent("connhub-cli/"+version()))
	return &hubClient{Client: c, server: server, out: out, io: io}
}

// fail turns an error of the SDK into the one line the CLI prints:
// "<message> (<code>, request <id>)".
func (h *hubClient) fail(err error) error {
	var e *connhub.Error
	var ue *url.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		if e.RequestID != "" {
			return fmt.Errorf("%s (%s, request %s)", e.Message, e.Code, e.RequestID)
		}
		return fmt.Errorf("%s (%s)", e.Message, e.Code)
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted")
	case errors.As(err, &ue) && ue.Timeout():
		return fmt.Errorf("connhub at %s did not answer in time", h.server)
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach connhub at %s: %v (is `connhub serve` running there? set --server or CONNHUB_SERVER)", h.server, ue.Err)
	}
	return err
}

// human reports whether the output is for people: a table, or a command's
// own lines.
func (h *hubClient) human() bool { return h.out.human() }

// emit prints v, the API's object or a list of them, as -o and --jq say.
func (h *hubClient) emit(v any) error { return h.out.emit(h.io.stdout, v) }

// newTable writes aligned columns, two spaces apart.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// row writes one tab-separated row of a table.
func row(w io.Writer, cells ...string) {
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		// A tab or newline inside a cell would break the columns.
		c = strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
		if i > 0 {
			io.WriteString(w, "\t")
		}
		io.WriteString(w, c)
	}
	io.WriteString(w, "\n")
}

// field is one line of a key-value listing.
type field struct{ key, value string }

// printFields writes key-value lines with the values aligned, leaving out
// the empty ones.
func printFields(w io.Writer, fields []field) error {
	tw := newTable(w)
	for _, f := range fields {
		if f.value != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", f.key, strings.ReplaceAll(f.value, "\n", " "))
		}
	}
	return tw.Flush()
}

// nameID shows "Name (ID)", or whichever of the two there is.
func nameID(name, id string) string {
	if name == "" || id == "" {
		return name + id
	}
	return name + " (" + id + ")"
}

func join(xs []string) string { return strings.Join(xs, ",") }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func timeText(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return when(*t)
}

// when shows a time in UTC to the second, with how far away it is.
func when(t time.Time) string {
	s := t.UTC().Format(time.RFC3339)
	d := time.Until(t).Round(time.Second)
	switch {
	case d > 0:
		return s + " (in " + d.String() + ")"
	case d < 0:
		return s + " (" + (-d).String() + " ago)"
	}
	return s
}

// exactArgs wants n positional arguments, named in the usage error.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usageError{fmt.Errorf("%s takes %s, got %d arguments (see 'connhub %s --help')",
				cmd.CommandPath(), strings.Join(names, " "), len(args), strings.TrimPrefix(cmd.CommandPath(), "connhub "))}
		}
		return nil
	}
}

// minArgs wants the named positional arguments, the last one or more times.
func minArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageError{fmt.Errorf("%s takes %s…, got %d arguments (see 'connhub %s --help')",
				cmd.CommandPath(), strings.Join(names, " "), len(args), strings.TrimPrefix(cmd.CommandPath(), "connhub "))}
		}
		return nil
	}
}

// ---- the person at the terminal ----

// stdin is where prompts read; tests replace it (client_export_test.go).
var stdin = func() *os.File { return os.Stdin }

// stdinTerminal reports whether stdin is a terminal a person types at.
func stdinTerminal() bool {
	f := stdin()
	return f != nil && isTerminal(f)
}

// stdoutTerminal reports whether the command prints to a terminal.
func stdoutTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// secretInput returns a secret from the environment variable env, else asks
// the person at the terminal for it without echoing it. what names it in
// the prompt and in the error when there is neither.
func secretInput(ctx context.Context, io streams, env, what string) (string, error) {
	return askSecret(ctx, io, env, what, false)
}

// askSecret is secretInput; an optional secret may be left out: "" when it
// is not in the environment and there is no terminal, or nothing was typed.
func askSecret(ctx context.Context, io streams, env, what string, optional bool) (string, error) {
	if v := strings.TrimSpace(io.getenv(env)); v != "" {
		return v, nil
	}
	switch {
	case !stdinTerminal() && optional:
		return "", nil
	case !stdinTerminal():
		return "", usageError{fmt.Errorf("set %s to %s (secrets are never flags; on a terminal connhub asks for it)", env, what)}
	}
	hint := "input hidden"
	if optional {
		hint += "; Enter to leave it out"
	}
	v, err := readHidden(ctx, stdin(), func() { fmt.Fprintf(io.stderr, "%s (%s; or set %s): ", upperFirst(what), hint, env) })
	fmt.Fprintln(io.stderr)
	if err != nil {
		return "", err
	}
	if v = strings.TrimSpace(v); v == "" && !optional {
		return "", usageError{fmt.Errorf("%s is empty", what)}
	}
	return v, nil
}

// confirm asks a yes/no question on the terminal; only y or yes is yes.
func confirm(ctx context.Context, io streams, question string) (bool, error) {
	fmt.Fprintf(io.stderr, "%s [y/N] ", question)
	answer, err := readLine(ctx, stdin())
	if err != nil {
		return false, err
	}
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes", nil
}

// readLine reads one line from f, one byte at a time so that nothing after
// it is consumed; it gives up when ctx is done.
func readLine(ctx context.Context, f *os.File) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 1)
		for {
			n, err := f.Read(buf)
			if n == 1 && buf[0] != '\n' {
				b.WriteByte(buf[0])
			}
			if n == 1 && buf[0] == '\n' || err != nil {
				if errors.Is(err, io.EOF) && b.Len() > 0 {
					err = nil
				}
				ch <- result{strings.TrimSuffix(b.String(), "\r"), err}
				return
			}
		}
	}()
	select {
	case r := <-ch:
		return r.line, r.err
	case <-ctx.Done():
		return "", errors.New("interrupted")
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// openBrowser opens url in the desktop's browser; tests replace it.
var openBrowser = func(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// showURL prints an URL a person must open, and opens it in a browser when
// the command prints to a terminal and --no-browser is not set.
func showURL(w io.Writer, io streams, label, u string, noBrowser bool) {
	fmt.Fprintf(w, "%s\n  %s\n", label, u)
	if noBrowser || !stdoutTerminal(io.stdout) {
		return
	}
	if err := openBrowser(u); err != nil {
		fmt.Fprintf(io.stderr, "connhub: could not open a browser (%v); open the URL above\n", err)
	}
}
