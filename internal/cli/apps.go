package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/pkg/connhub"
)

// appsCreateOptions are the flags of `connhub apps create`.
type appsCreateOptions struct {
	clientFlags
	Name       string
	ClientID   string
	BotScopes  []string
	UserScopes []string
}

func newAppsCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "Register the Slack apps that connhub installs",
		Long: "Register, list and delete the Slack apps (created at api.slack.com/apps) through which connhub\n" +
			"installs connector instances. The commands call the hub at --server with CONNHUB_TOKEN, or the\n" +
			"context of `connhub login`, or with the API token in the hub's DATA_DIR/admin-credentials.",
	}
	cf.register(cmd.PersistentFlags())

	create := appsCreateOptions{}
	createCmd := &cobra.Command{
		Use:   "create --client-id ID",
		Short: "Register a Slack app",
		Long: "Register a Slack app by the values on its Basic Information page. The client secret comes from\n" +
			"CONNHUB_SLACK_CLIENT_SECRET and the signing secret from CONNHUB_SLACK_SIGNING_SECRET, or they\n" +
			"are asked for on a terminal: secrets are never flags. Add the redirect URL printed to the app's\n" +
			"Redirect URLs (OAuth & Permissions).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			create.clientFlags = cf
			return runAppsCreate(cmd.Context(), create, io)
		},
	}
	f := createCmd.Flags()
	f.StringVar(&create.ClientID, "client-id", "", "the app's Client ID, digits.digits (required)")
	f.StringVar(&create.Name, "name", "", "a name for the app in connhub (default \"Slack app <client ID>\")")
	f.StringSliceVar(&create.BotScopes, "bot-scopes", nil, "bot scopes the app asks for, comma-separated (default: each instance's edition decides)")
	f.StringSliceVar(&create.UserScopes, "user-scopes", nil, "user scopes the app asks for, comma-separated")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the registered Slack apps",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAppsList(cmd.Context(), cf, io)
		},
	}
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show a registered Slack app (never its secrets)",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAppsGet(cmd.Context(), cf, args[0], io)
		},
	}
	upd := appsUpdateOptions{}
	update := &cobra.Command{
		Use:   "update ID",
		Short: "Rename an app, or rotate its client or signing secret (proven at Slack first)",
		Long: "Change a registered app. With --client-secret, the secret that Regenerate on the app's Basic\n" +
			"Information page gave comes from CONNHUB_SLACK_CLIENT_SECRET or is asked for on a terminal; the\n" +
			"hub proves it at Slack by refreshing a rotating token of one of the app's instances, and stores\n" +
			"it only if Slack takes it. --signing-secret likewise reads CONNHUB_SLACK_SIGNING_SECRET.",
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			upd.clientFlags, upd.ID = cf, args[0]
			return runAppsUpdate(cmd.Context(), upd, io)
		},
	}
	uf := update.Flags()
	uf.StringVar(&upd.Name, "name", "", "a new name")
	uf.BoolVar(&upd.ClientSecret, "client-secret", false, "rotate the client secret (read from CONNHUB_SLACK_CLIENT_SECRET, or asked for)")
	uf.BoolVar(&upd.SigningSecret, "signing-secret", false, "rotate the signing secret (read from CONNHUB_SLACK_SIGNING_SECRET, or asked for)")
	uf.BoolVar(&upd.AllowUnverified, "allow-unverified", false, "store a client secret that no instance can prove now")
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a registered Slack app that no instance uses",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAppsDelete(cmd.Context(), cf, args[0], io)
		},
	}
	cmd.AddCommand(createCmd, list, get, update, del)
	cf.registerOutputs(cmd, list)
	return cmd
}

func runAppsCreate(ctx context.Context, opts appsCreateOptions, io streams) error {
	if opts.ClientID == "" {
		return usageError{fmt.Errorf("--client-id is required: the Client ID on the app's Basic Information page at api.slack.com/apps")}
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	secret, err := secretInput(ctx, io, "CONNHUB_SLACK_CLIENT_SECRET", "the app's client secret")
	if err != nil {
		return err
	}
	signing, err := askSecret(ctx, io, "CONNHUB_SLACK_SIGNING_SECRET", "the app's signing secret (for Slack's events)", true)
	if err != nil {
		return err
	}
	app, err := h.CreateApp(ctx, connhub.CreateAppInput{Name: opts.Name, ClientID: opts.ClientID, ClientSecret: secret,
		SigningSecret: signing, BotScopes: opts.BotScopes, UserScopes: opts.UserScopes})
	if err != nil {
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(app)
	}
	if err := printApp(io, app); err != nil {
		return err
	}
	fmt.Fprintf(io.stdout, "\nAdd the redirect URL to the app's Redirect URLs at api.slack.com/apps (OAuth & Permissions).\n")
	return nil
}

// appsUpdateOptions are the flags of `connhub apps update`.
type appsUpdateOptions struct {
	clientFlags
	ID                          string
	Name                        string
	ClientSecret, SigningSecret bool
	AllowUnverified             bool
}

func runAppsUpdate(ctx context.Context, opts appsUpdateOptions, io streams) error {
	if opts.Name == "" && !opts.ClientSecret && !opts.SigningSecret {
		return usageError{fmt.Errorf("say what to change: --name, --client-secret or --signing-secret")}
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	in := connhub.AppUpdate{Name: opts.Name, AllowUnverified: opts.AllowUnverified}
	if opts.ClientSecret {
		if in.ClientSecret, err = secretInput(ctx, io, "CONNHUB_SLACK_CLIENT_SECRET", "the app's new client secret"); err != nil {
			return err
		}
	}
	if opts.SigningSecret {
		if in.SigningSecret, err = secretInput(ctx, io, "CONNHUB_SLACK_SIGNING_SECRET", "the app's new signing secret"); err != nil {
			return err
		}
	}
	app, err := h.UpdateApp(ctx, opts.ID, in)
	if err != nil {
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(app)
	}
	if app.ClientSecretVerified != "" {
		fmt.Fprintf(io.stdout, "connhub: the new client secret is stored (%s)\n", app.ClientSecretVerified)
	}
	return printApp(io, app.App)
}

func runAppsList(ctx context.Context, cf clientFlags, io streams) error {
	h, err := cf.connect(io)
	if err != nil {
		return err
	}
	apps := []connhub.App{}
	for a, err := range h.AllApps(ctx) {
		if err != nil {
			return h.fail(err)
		}
		apps = append(apps, a)
	}
	if !h.human() {
		return h.emit(apps)
	}
	tw := newTable(io.stdout)
	row(tw, "ID", "NAME", "CLIENT ID", "SIGNING SECRET", "REDIRECT URL", "CREATED")
	for _, a := range apps {
		row(tw, a.ID, a.Name, a.ClientID, yesNo(a.HasSigningSecret), a.RedirectURL, a.CreatedAt.UTC().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func runAppsGet(ctx context.Context, cf clientFlags, id string, io streams) error {
	h, err := cf.connect(io)
	if err != nil {
		return err
	}
	app, err := h.GetApp(ctx, id)
	if err != nil {
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(app)
	}
	return printApp(io, app)
}

func runAppsDelete(ctx context.Context, cf clientFlags, id string, io streams) error {
	h, err := cf.connect(io)
	if err != nil {
		return err
	}
	if err := h.DeleteApp(ctx, id); err != nil {
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(map[string]any{"deleted": true, "id": id})
	}
	fmt.Fprintf(io.stdout, "connhub: deleted app %s\n", id)
	return nil
}

func printApp(io streams, a connhub.App) error {
	return printFields(io.stdout, []field{
		{"ID", a.ID}, {"Name", a.Name}, {"Client ID", a.ClientID},
		{"Client secret", storedOrNot(a.HasClientSecret)}, {"Signing secret", storedOrNot(a.HasSigningSecret)},
		{"Bot scopes", join(a.BotScopes)}, {"User scopes", join(a.UserScopes)},
		{"Redirect URL", a.RedirectURL}, {"Created", when(a.CreatedAt)},
	})
}

func storedOrNot(b bool) string {
	if b {
		return "stored (encrypted)"
	}
	return "none"
}
