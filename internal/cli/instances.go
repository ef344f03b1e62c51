package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/connhub/connhub/pkg/connhub"
)

// waitFlags are the flags of the commands that can wait for consent at Slack.
type waitFlags struct {
	Wait      bool
	Timeout   time.Duration
	Interval  time.Duration
	NoBrowser bool
}

func (w *waitFlags) register(fs *pflag.FlagSet, what string) {
	fs.BoolVar(&w.Wait, "wait", false, "wait until "+what+" at Slack, and print the outcome")
	fs.DurationVar(&w.Timeout, "timeout", 10*time.Minute, "with --wait: how long to wait (the authorize URL expires after 10 minutes)")
	fs.DurationVar(&w.Interval, "poll-interval", time.Second, "with --wait: how often to ask the hub")
	fs.MarkHidden("poll-interval")
	fs.BoolVar(&w.NoBrowser, "no-browser", false, "do not open the authorize URL in a browser")
}

// instancesCreateOptions are the flags of `connhub instances create`.
type instancesCreateOptions struct {
	clientFlags
	waitFlags
	Name               string
	Edition            string
	Tags               []string
	Team               string
	AppID              string
	BotScopes          []string
	UserScopes         []string
	TokenFromEnv       bool
	ImportRefreshToken bool
}

type instancesListOptions struct {
	clientFlags
	Status    string
	Tag       string
	Connector string
}

type instancesUpdateOptions struct {
	clientFlags
	ID       string
	Name     string
	Tags     []string
	NoTags   bool
	Settings []string
	// AllowUserToken lets proxied calls use the installing user's token.
	AllowUserToken bool
	changed        func(string) bool
}

type instancesReauthOptions struct {
	clientFlags
	waitFlags
	ID   string
	Team string
}

type instancesDeleteOptions struct {
	clientFlags
	ID           string
	Force        bool
	RevokeShared bool
	Yes          bool
}

func newInstancesCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:     "instances",
		Aliases: []string{"instance"},
		Short:   "Create, test, update, re-authenticate and delete connector instances",
		Long: "A connector instance is one authenticated connection to a Slack workspace or Enterprise Grid\n" +
			"org, with its own ID and instance token. The commands call the hub at --server with\n" +
			"CONNHUB_TOKEN, or the context of `connhub login`, or with the API token in the hub's\n" +
			"DATA_DIR/admin-credentials.\n\n" +
			"Only `instances token` and `instances credentials` print credentials; no command prints a\n" +
			"Slack token (connhub never gives them out).",
	}
	cf.register(cmd.PersistentFlags())
	list := newInstancesListCmd(io, &cf)
	create := newInstancesCreateCmd(io, &cf)
	onOne := []*cobra.Command{newInstancesGetCmd(io, &cf), newInstancesUpdateCmd(io, &cf), newInstancesReauthCmd(io, &cf),
		newInstancesTokenCmd(io, &cf), newInstancesPingCmd(io, &cf), newInstancesCredentialsCmd(io, &cf), newInstancesDeleteCmd(io, &cf)}
	cmd.AddCommand(append([]*cobra.Command{create, list}, onOne...)...)
	cf.registerOutputs(cmd, list)
	completeInstanceArg(io, &cf, onOne...)
	completeEditions(create)
	list.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]cobra.Completion{connhub.StatusPending, connhub.StatusActive,
		connhub.StatusNeedsReauth, connhub.StatusNeedsWorkspaces, connhub.StatusRevoked, connhub.StatusFailed}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newInstancesCreateCmd(io streams, cf *clientFlags) *cobra.Command {
	opts := instancesCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a connector instance and print its authorize URL",
		Long: "Create a connector instance. By default it is installed through Slack's consent page: the\n" +
			"command prints the instance ID, its instance token (shown this once) and the authorize URL,\n" +
			"and opens the URL in a browser when it prints to a terminal. With --wait it waits for the\n" +
			"person at Slack to allow the app and prints the outcome.\n\n" +
			"Two other ways in, with the secrets in the environment (secrets are never flags):\n" +
			"  --token-from-env          an existing bot (xoxb) or user (xoxp) token in CONNHUB_SLACK_TOKEN\n" +
			"                            (and its refresh token in CONNHUB_SLACK_REFRESH_TOKEN if it rotates: it is\n" +
			"                            refreshed at once with its app's credentials, --app or the only one)\n" +
			"  --import-refresh-token    an app's CONNHUB_SLACK_CLIENT_ID and CONNHUB_SLACK_CLIENT_SECRET and a\n" +
			"                            refresh token in CONNHUB_SLACK_REFRESH_TOKEN",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.clientFlags = *cf
			return runInstancesCreate(cmd.Context(), opts, io)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", "", "the instance's name (required)")
	f.StringVar(&opts.Edition, "edition", "", "the workspace's plan, which decides the scopes asked for: free, pro, business_plus, enterprise_grid or compliance (default business_plus)")
	f.StringArrayVar(&opts.Tags, "tag", nil, "a tag (repeatable)")
	f.StringVar(&opts.Team, "team", "", "a workspace (T…) or Enterprise Grid org (E…) to preselect at Slack")
	f.StringVar(&opts.AppID, "app", "", "the ID of the registered app to install (default: the organization's app)")
	f.StringSliceVar(&opts.BotScopes, "bot-scopes", nil, "bot scopes to ask for instead of the edition's, comma-separated")
	f.StringSliceVar(&opts.UserScopes, "user-scopes", nil, "user scopes to ask for instead of the edition's, comma-separated")
	f.BoolVar(&opts.TokenFromEnv, "token-from-env", false, "make the instance from the Slack token in CONNHUB_SLACK_TOKEN")
	f.BoolVar(&opts.ImportRefreshToken, "import-refresh-token", false, "make the instance from CONNHUB_SLACK_CLIENT_ID, CONNHUB_SLACK_CLIENT_SECRET and CONNHUB_SLACK_REFRESH_TOKEN")
	opts.waitFlags.register(f, "the person allows the app")
	return cmd
}

func runInstancesCreate(ctx context.Context, opts instancesCreateOptions, io streams) error {
	if strings.TrimSpace(opts.Name) == "" {
		return usageError{errors.New("--name is required: what to call the instance")}
	}
	if opts.TokenFromEnv && opts.ImportRefreshToken {
		return usageError{errors.New("--token-from-env and --import-refresh-token are two different ways in: choose one")}
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	in := connhub.CreateInstanceInput{Name: opts.Name, Edition: opts.Edition, Tags: opts.Tags, Team: opts.Team, AppID: opts.AppID,
		BotScopes: opts.BotScopes, UserScopes: opts.UserScopes}
	switch {
	case opts.TokenFromEnv:
		in.AuthMethod = connhub.AuthToken
		if in.Token = strings.TrimSpace(io.getenv("CONNHUB_SLACK_TOKEN")); in.Token == "" {
			return usageError{errors.New("--token-from-env: set CONNHUB_SLACK_TOKEN to the Slack token (xoxb-… or xoxp-…)")}
		}
		in.RefreshToken = strings.TrimSpace(io.getenv("CONNHUB_SLACK_REFRESH_TOKEN"))
	case opts.ImportRefreshToken:
		in.AuthMethod = connhub.AuthRefreshToken
		if in.ClientID = strings.TrimSpace(io.getenv("CONNHUB_SLACK_CLIENT_ID")); in.ClientID == "" {
			return usageError{errors.New("--import-refresh-token: set CONNHUB_SLACK_CLIENT_ID to the app's Client ID")}
		}
		if in.ClientSecret, err = secretInput(ctx, io, "CONNHUB_SLACK_CLIENT_SECRET", "the app's client secret"); err != nil {
			return err
		}
		if in.RefreshToken, err = secretInput(ctx, io, "CONNHUB_SLACK_REFRESH_TOKEN", "the refresh token (xoxe-…)"); err != nil {
			return err
		}
	}
	created, err := h.CreateInstance(ctx, in)
	if err != nil {
		return h.fail(err)
	}
	waiting := opts.Wait && created.AuthorizeURL != "" && created.Status == connhub.StatusPending
	// With JSON out, the guidance goes to stderr, and one object to stdout:
	// at once, or after waiting, with the instance as it ended.
	guide := io.stdout
	if !h.human() {
		guide = io.stderr
	}
	if h.human() {
		fmt.Fprintf(io.stdout, "connhub: created instance %s (%s): %s\n", created.ID, created.Name, statusText(created.Instance))
		printFields(io.stdout, []field{
			{"ID", created.ID},
			{"Instance token", created.InstanceToken + "   (shown once; `connhub instances token " + created.ID + "` shows it again)"},
		})
	} else if !waiting {
		return h.emit(created)
	}
	if created.AuthorizeURL != "" {
		label := "Open this URL in a browser and allow the app at Slack"
		if created.AuthorizeURLExpiresAt != nil {
			label += " (it expires at " + created.AuthorizeURLExpiresAt.Local().Format("15:04:05") + ")"
		}
		if h.human() {
			fmt.Fprintln(io.stdout)
		}
		showURL(guide, io, label+":", created.AuthorizeURL, opts.NoBrowser)
	}
	if !waiting {
		return nil
	}
	fmt.Fprintf(io.stderr, "connhub: waiting for consent at Slack (up to %s; Ctrl-C stops waiting, the instance stays)…\n", opts.Timeout)
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	final, werr := h.WaitActive(wctx, created.ID, opts.Interval)
	return h.waitOutcome(ctx, created, final, werr, opts.Timeout)
}

// waitOutcome prints how a wait for consent ended.
func (h *hubClient) waitOutcome(ctx context.Context, created connhub.CreatedInstance, final connhub.Instance, werr error, timeout time.Duration) error {
	var se *connhub.StatusError
	switch {
	case werr == nil, errors.As(werr, &se):
	case errors.Is(werr, context.DeadlineExceeded) && ctx.Err() == nil:
		return fmt.Errorf("gave up waiting after %s: instance %s is still %s; open the authorize URL, or start again with `connhub instances reauth %s`",
			timeout, created.ID, orStatus(final.Status, "pending"), created.ID)
	default:
		return h.fail(werr)
	}
	if !h.human() {
		created.Instance = final
		if err := h.emit(created); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(h.io.stdout, "connhub: instance %s is %s\n", final.ID, statusText(final))
	}
	if se != nil {
		return fmt.Errorf("instance %s was not connected: %s", final.ID, orStatus(final.StatusReason, final.Status))
	}
	return nil
}

func orStatus(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// statusText says an instance's status in a few words.
func statusText(in connhub.Instance) string {
	switch {
	case in.Status == connhub.StatusActive && in.TeamName != "":
		where := in.TeamName
		if in.TeamID != "" {
			where += " (" + in.TeamID + ")"
		} else if in.EnterpriseID != "" {
			where += " (" + in.EnterpriseID + ", org-wide)"
		}
		return "active, authenticated to " + where
	case in.StatusReason != "":
		return in.Status + ": " + in.StatusReason
	}
	return in.Status
}

func newInstancesListCmd(io streams, cf *clientFlags) *cobra.Command {
	opts := instancesListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List connector instances (every page)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.clientFlags = *cf
			return runInstancesList(cmd.Context(), opts, io)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Status, "status", "", "only instances in this status: pending, active, needs_reauth, revoked or failed")
	f.StringVar(&opts.Tag, "tag", "", "only instances with this tag")
	f.StringVar(&opts.Connector, "connector", "", "only instances of this connector (slack)")
	return cmd
}

func runInstancesList(ctx context.Context, opts instancesListOptions, io streams) error {
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	list := []connhub.Instance{}
	for in, err := range h.AllInstances(ctx, connhub.ListInstancesOptions{Connector: opts.Connector, Status: opts.Status, Tag: opts.Tag}) {
		if err != nil {
			return h.fail(err)
		}
		list = append(list, in)
	}
	if !h.human() {
		return h.emit(list)
	}
	tw := newTable(io.stdout)
	row(tw, "ID", "NAME", "STATUS", "EDITION", "TEAM", "AUTH", "TAGS", "CREATED")
	for _, in := range list {
		team := in.TeamName
		if in.OrgWide {
			team += " (org-wide)"
		}
		row(tw, in.ID, in.Name, in.Status, in.Edition, team, in.AuthMethod, join(in.Tags), in.CreatedAt.UTC().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func newInstancesGetCmd(io streams, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a connector instance (never its Slack tokens)",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := cf.connect(io)
			if err != nil {
				return err
			}
			in, err := h.GetInstance(cmd.Context(), args[0])
			if err != nil {
				return h.fail(err)
			}
			return h.printInstance(in)
		},
	}
}

func (h *hubClient) printInstance(in connhub.Instance) error {
	if !h.human() {
		return h.emit(in)
	}
	settings := ""
	if len(in.Settings) > 0 {
		b, _ := json.Marshal(in.Settings)
		settings = string(b)
	}
	lastPing := ""
	if in.LastPingAt != nil {
		lastPing = timeText(in.LastPingAt) + ", " + map[bool]string{true: "ok", false: "failed"}[in.LastPingOK]
	}
	return printFields(h.io.stdout, []field{
		{"ID", in.ID}, {"Name", in.Name}, {"Connector", in.Connector}, {"Status", in.Status}, {"Reason", in.StatusReason},
		{"Edition", in.Edition}, {"Auth method", in.AuthMethod}, {"App", in.AppID},
		{"Team", nameID(in.TeamName, in.TeamID)}, {"Enterprise", in.EnterpriseID}, {"Org-wide", map[bool]string{true: "yes"}[in.OrgWide]},
		{"Workspaces", join(in.Teams)}, {"Bot user", in.BotUserID}, {"Authed user", in.AuthedUserID},
		{"Bot scopes", join(in.BotScopes)}, {"User scopes", join(in.UserScopes)},
		{"Bot token", tokenText(in.HasBotToken, in.BotTokenExpiresAt)}, {"User token", tokenText(in.HasUserToken, in.UserTokenExpiresAt)},
		{"Instance token", in.InstanceTokenHint}, {"User token", userTokenUse(in)}, {"Tags", join(in.Tags)}, {"Settings", settings},
		{"Last ping", lastPing}, {"Created", when(in.CreatedAt)}, {"Updated", when(in.UpdatedAt)},
	})
}

// tokenText says whether a Slack token is held and until when, never what it is.
func tokenText(has bool, expires *time.Time) string {
	switch {
	case !has:
		return ""
	case expires == nil:
		return "held (encrypted), does not expire"
	}
	return "held (encrypted), expires " + timeText(expires)
}

func newInstancesUpdateCmd(io streams, cf *clientFlags) *cobra.Command {
	opts := instancesUpdateOptions{}
	cmd := &cobra.Command{
		Use:   "update ID [--name NAME] [--tag TAG]… [--set KEY=VALUE]…",
		Short: "Rename an instance, or change its tags and settings, without re-authenticating",
		Long: "Change an instance's name, tags and settings. Its Slack tokens are untouched: no consent at\n" +
			"Slack is needed. --tag replaces the tags with the ones given; --no-tags removes them all.\n" +
			"--set KEY=VALUE merges a setting: VALUE is taken as JSON when it is JSON (42, true, \"text\",\n" +
			"[1,2]) and as text otherwise; KEY=null removes the setting.",
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.clientFlags, opts.ID, opts.changed = *cf, args[0], cmd.Flags().Changed
			return runInstancesUpdate(cmd.Context(), opts, io)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", "", "the new name")
	f.StringArrayVar(&opts.Tags, "tag", nil, "a tag (repeatable): the instance's tags become the ones given")
	f.BoolVar(&opts.NoTags, "no-tags", false, "remove every tag")
	f.StringArrayVar(&opts.Settings, "set", nil, "KEY=VALUE: set a setting (repeatable); KEY=null removes it")
	f.BoolVar(&opts.AllowUserToken, "allow-user-token", false, "let proxied calls use the installing user's token (X-Connhub-Token: user; each call is audited); --allow-user-token=false forbids it")
	return cmd
}

func runInstancesUpdate(ctx context.Context, opts instancesUpdateOptions, io streams) error {
	var u connhub.InstanceUpdate
	if opts.changed("name") {
		u.Name = &opts.Name
	}
	switch {
	case opts.NoTags && len(opts.Tags) > 0:
		return usageError{errors.New("--no-tags and --tag contradict each other")}
	case opts.NoTags:
		u.Tags = &[]string{}
	case len(opts.Tags) > 0:
		u.Tags = &opts.Tags
	}
	for _, kv := range opts.Settings {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return usageError{fmt.Errorf("--set %q: want KEY=VALUE", kv)}
		}
		if u.Settings == nil {
			u.Settings = map[string]any{}
		}
		u.Settings[k] = settingValue(v)
	}
	if opts.changed("allow-user-token") {
		u.AllowUserToken = &opts.AllowUserToken
	}
	if u.Name == nil && u.Tags == nil && u.Settings == nil && u.AllowUserToken == nil {
		return usageError{errors.New("nothing to update: give --name, --tag, --no-tags, --set or --allow-user-token")}
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	in, err := h.UpdateInstance(ctx, opts.ID, u)
	if err != nil {
		return h.fail(err)
	}
	if h.human() {
		fmt.Fprintf(io.stdout, "connhub: updated instance %s; its Slack tokens are untouched\n", in.ID)
	}
	return h.printInstance(in)
}

// userTokenUse says whether proxied calls may use the instance's user token.
func userTokenUse(in connhub.Instance) string {
	switch {
	case !in.HasUserToken:
		return ""
	case in.AllowUserToken:
		return "proxied calls may use it (X-Connhub-Token: user)"
	}
	return "not through the proxy (--allow-user-token allows it)"
}

// settingValue is a --set value: JSON when it parses as JSON, else text.
func settingValue(v string) any {
	var x any
	if err := json.Unmarshal([]byte(v), &x); err == nil {
		return x
	}
	return v
}

func newInstancesReauthCmd(io streams, cf *clientFlags) *cobra.Command {
	opts := instancesReauthOptions{}
	cmd := &cobra.Command{
		Use:   "reauth ID",
		Short: "Re-authenticate an instance: a new authorize URL; same ID and instance token",
		Long: "Start a new install for an instance and print its authorize URL (opened in a browser when\n" +
			"printing to a terminal). When the person at Slack allows the app, the instance keeps its ID and\n" +
			"instance token and gets new Slack tokens. With --wait the command waits for that.",
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.clientFlags, opts.ID = *cf, args[0]
			return runInstancesReauth(cmd.Context(), opts, io)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Team, "team", "", "a workspace (T…) or org (E…) to preselect at Slack (default: the instance's)")
	opts.waitFlags.register(f, "the re-authentication completes")
	return cmd
}

func runInstancesReauth(ctx context.Context, opts instancesReauthOptions, io streams) error {
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	re, err := h.Reauthenticate(ctx, opts.ID, opts.Team)
	if err != nil {
		return h.fail(err)
	}
	guide := io.stdout
	if !h.human() {
		if !opts.Wait {
			return h.emit(re)
		}
		guide = io.stderr
	}
	label := "Open this URL in a browser and allow the app at Slack again (it expires at " + re.AuthorizeURLExpiresAt.Local().Format("15:04:05") + "):"
	showURL(guide, io, label, re.AuthorizeURL, opts.NoBrowser)
	if !opts.Wait {
		return nil
	}
	fmt.Fprintf(io.stderr, "connhub: waiting for consent at Slack (up to %s)…\n", opts.Timeout)
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	final, werr := h.WaitUpdated(wctx, opts.ID, re.Instance.Version, opts.Interval)
	var se *connhub.StatusError
	switch {
	case werr == nil, errors.As(werr, &se):
	case errors.Is(werr, context.DeadlineExceeded) && ctx.Err() == nil:
		return fmt.Errorf("gave up waiting after %s: instance %s was not re-authenticated (a refused or failed consent leaves it as it was)", opts.Timeout, opts.ID)
	default:
		return h.fail(werr)
	}
	if !h.human() {
		re.Instance = final
		if err := h.emit(re); err != nil {
			return err
		}
	} else if final.LastAuthError == "" {
		fmt.Fprintf(io.stdout, "connhub: instance %s is re-authenticated: %s\n", final.ID, statusText(final))
	}
	if se != nil {
		return fmt.Errorf("instance %s was not re-authenticated: %s", final.ID, orStatus(final.StatusReason, final.Status))
	}
	if final.LastAuthError != "" {
		return fmt.Errorf("instance %s was not re-authenticated: %s (it stays %s)", final.ID, final.LastAuthError, final.Status)
	}
	return nil
}

func newInstancesTokenCmd(io streams, cf *clientFlags) *cobra.Command {
	var rotate bool
	cmd := &cobra.Command{
		Use:   "token ID",
		Short: "Print an instance's instance token (admins; audit-logged)",
		Long: "Print the instance token that authenticates requests for the instance (Authorization: Bearer\n" +
			"…), alone on a line. With --rotate, make a new one first: the old one stops working at once.",
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := cf.connect(io)
			if err != nil {
				return err
			}
			get := h.InstanceToken
			if rotate {
				get = h.RotateInstanceToken
			}
			tok, err := get(cmd.Context(), args[0])
			if err != nil {
				return h.fail(err)
			}
			if !h.human() {
				return h.emit(map[string]string{"instance_token": tok})
			}
			_, err = fmt.Fprintln(io.stdout, tok)
			return err
		},
	}
	cmd.Flags().BoolVar(&rotate, "rotate", false, "make a new instance token; the old one stops working at once")
	return cmd
}

func newInstancesPingCmd(io streams, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "ping ID",
		Short: "Test an instance: Slack's auth.test with its token",
		Long: "Call Slack's auth.test with the instance's token (refreshing it first if it is about to\n" +
			"expire) and print the workspace, the user, the granted scopes, the token's expiry and the\n" +
			"scopes the instance's edition needs that were not granted.",
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := cf.connect(io)
			if err != nil {
				return err
			}
			p, err := h.Ping(cmd.Context(), args[0])
			if err != nil {
				return h.fail(err)
			}
			if !h.human() {
				return h.emit(p)
			}
			team, user := nameID(p.Team, p.TeamID), nameID(p.User, p.UserID)
			expires := timeText(p.TokenExpiresAt)
			if expires == "" {
				expires = "does not expire"
			}
			fmt.Fprintf(io.stdout, "connhub: instance %s answers: ok in %d ms\n", args[0], p.LatencyMS)
			return printFields(io.stdout, []field{
				{"Team", team}, {"Enterprise", p.EnterpriseID}, {"URL", p.URL}, {"User", user}, {"Bot", p.BotID},
				{"Token kind", p.TokenKind}, {"Token expires", expires}, {"Scopes", join(p.Scopes)},
				{"Missing bot scopes", join(p.MissingBotScopes)}, {"Missing user scopes", join(p.MissingUserScopes)},
				{"SCIM", scimText(p.SCIM)},
			})
		},
	}
}

func newInstancesCredentialsCmd(io streams, cf *clientFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "credentials ID",
		Short: "Print the instance's ready Authorization header and SCIM connection (admins; audit-logged)",
		Long: "Print the Authorization header with the instance token, for curl or an integration tool, and\n" +
			"the SCIM base URL and token to paste into an identity provider's provisioning connection\n" +
			"(PingFederate, Okta, Entra ID): the token is the instance token, which does not expire.\n" +
			"For the Open Connectors form (User …, Organization …, Element …) make a named credential\n" +
			"(`connhub credentials create`): it gets an identity of its own, so no person's secret is handed out.",
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := cf.connect(io)
			if err != nil {
				return err
			}
			c, err := h.InstanceCredentials(cmd.Context(), args[0])
			if err != nil {
				return h.fail(err)
			}
			if !h.human() {
				return h.emit(c)
			}
			fields := []field{{"Bearer", c.Bearer}}
			if c.SCIM.Path != "" {
				fields = append(fields, field{"SCIM base URL", h.BaseURL() + c.SCIM.Path}, field{"SCIM token", c.SCIM.Token}, field{"SCIM", scimText(c.SCIM.SCIMStatus)})
			}
			return printFields(io.stdout, fields)
		},
	}
}

func newInstancesDeleteCmd(io streams, cf *clientFlags) *cobra.Command {
	opts := instancesDeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an instance for good: its Slack tokens are revoked",
		Long: "Revoke the instance's tokens at Slack (auth.revoke), then delete the instance, its instance\n" +
			"token and everything it holds. On a terminal it asks first unless --yes is given; without a\n" +
			"terminal it needs --yes. If Slack cannot be reached the instance is kept, unless --force.",
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.clientFlags, opts.ID = *cf, args[0]
			return runInstancesDelete(cmd.Context(), opts, io)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete even if Slack cannot be reached to revoke the tokens")
	cmd.Flags().BoolVar(&opts.RevokeShared, "revoke-shared", false, "revoke at Slack the tokens other instances hold too (they lose their access)")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runInstancesDelete(ctx context.Context, opts instancesDeleteOptions, io streams) error {
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	if !opts.Yes {
		if !stdinTerminal() {
			return usageError{fmt.Errorf("not deleting instance %s without confirmation: there is no terminal to ask at; pass --yes", opts.ID)}
		}
		in, err := h.GetInstance(ctx, opts.ID)
		if err != nil {
			return h.fail(err)
		}
		ok, err := confirm(ctx, io, fmt.Sprintf("Delete instance %s (%s) for good? Its Slack tokens are revoked and its instance token stops working.", in.ID, in.Name))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("instance %s was not deleted", opts.ID)
		}
	}
	d, err := h.Delete(ctx, opts.ID, connhub.DeleteOptions{Force: opts.Force, RevokeShared: opts.RevokeShared})
	if err != nil {
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(d)
	}
	fmt.Fprintf(io.stdout, "connhub: deleted instance %s; its instance token no longer works\n", opts.ID)
	if len(d.Revoked) > 0 {
		fmt.Fprintf(io.stdout, "connhub: revoked at Slack: its %s token\n", strings.Join(d.Revoked, " and "))
	} else if opts.Force && len(d.Kept) == 0 {
		fmt.Fprintf(io.stdout, "connhub: with --force its Slack tokens may not have been revoked\n")
	}
	for _, k := range d.Kept {
		fmt.Fprintf(io.stdout, "connhub: its %s token stays valid at Slack: %s hold it too (--revoke-shared revokes it; they would lose their access)\n", k.Token, strings.Join(k.SharedWith, ", "))
	}
	if len(d.Affected) > 0 {
		fmt.Fprintf(io.stdout, "connhub: these instances lost their access and must be re-authenticated: %s\n", strings.Join(d.Affected, ", "))
	}
	return nil
}

// scimText says whether an instance can provision over SCIM, or why not.
func scimText(s connhub.SCIMStatus) string {
	if s.Ready {
		return "ready"
	}
	return "not ready: " + s.Message
}
