package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/pkg/connhub"
)

// credentialsCreateOptions are the flags of `connhub credentials create`.
type credentialsCreateOptions struct {
	clientFlags
	Name        string
	InstanceID  string
	Kind        string
	Description string
}

func newCredentialsCmd(io streams) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:     "credentials",
		Aliases: []string{"credential"},
		Short:   "Credentials for integration tools, each with an identity of its own",
		Long: "Named credentials (SAP Cloud Integration's User Credentials): an Authorization header value\n" +
			"for an integration tool, with an identity of its own bound to one instance. It can do what the\n" +
			"instance token can and no more, holds no person's secret, and is rotated or deleted alone.\n" +
			"`create` and `rotate` print the value once; `reveal` prints it again (admins; audit-logged).",
	}
	cf.register(cmd.PersistentFlags())

	create := credentialsCreateOptions{}
	createCmd := &cobra.Command{
		Use:   "create --name NAME --instance ID",
		Short: "Make a named credential for an instance (prints its value once)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			create.clientFlags = cf
			return runCredentialsCreate(cmd.Context(), create, io)
		},
	}
	f := createCmd.Flags()
	f.StringVar(&create.Name, "name", "", "the credential's name (required)")
	f.StringVar(&create.InstanceID, "instance", "", "the instance it acts for (required)")
	f.StringVar(&create.Kind, "kind", connhub.KindOpenConnectors, "open_connectors (User …, Organization …, Element …) or bearer (Bearer chub_…)")
	f.StringVar(&create.Description, "description", "", "what the credential is for")

	list := &cobra.Command{
		Use:   "list",
		Short: "List named credentials (without their values)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCredentialsList(cmd.Context(), cf, io)
		},
	}
	get := &cobra.Command{
		Use:   "get NAME_OR_ID",
		Short: "Print a named credential and its hint (never its value)",
		Args:  exactArgs("NAME_OR_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCredentialsShow(cmd.Context(), cf, args[0], "get", io)
		},
	}
	reveal := &cobra.Command{
		Use:   "reveal NAME_OR_ID",
		Short: "Print a named credential with its value (admins; audit-logged)",
		Args:  exactArgs("NAME_OR_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCredentialsShow(cmd.Context(), cf, args[0], "reveal", io)
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate NAME_OR_ID",
		Short: "Give a named credential a new value (printed once); the old one stops working",
		Args:  exactArgs("NAME_OR_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCredentialsShow(cmd.Context(), cf, args[0], "rotate", io)
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a named credential",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCredentialsDelete(cmd.Context(), cf, args[0], io)
		},
	}
	cmd.AddCommand(createCmd, list, get, reveal, rotate, del)
	cf.registerOutputs(cmd, list)
	createCmd.RegisterFlagCompletionFunc("instance", completeFromHub(io, &cf, instanceIDs))
	createCmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions([]cobra.Completion{connhub.KindOpenConnectors, connhub.KindBearer}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runCredentialsCreate(ctx context.Context, opts credentialsCreateOptions, io streams) error {
	switch {
	case opts.Name == "":
		return usageError{errors.New("--name is required: the name integration flows fetch the credential by")}
	case opts.InstanceID == "":
		return usageError{errors.New("--instance is required: the ID of the instance whose credentials to store")}
	case opts.Kind != connhub.KindOpenConnectors && opts.Kind != connhub.KindBearer:
		return usageError{fmt.Errorf("--kind %q: want open_connectors or bearer", opts.Kind)}
	}
	h, err := opts.connect(io)
	if err != nil {
		return err
	}
	c, err := h.CreateCredential(ctx, connhub.CreateCredentialInput{Name: opts.Name, InstanceID: opts.InstanceID, Kind: opts.Kind, Description: opts.Description})
	if err != nil {
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(c)
	}
	fmt.Fprintf(io.stdout, "connhub: made credential %q for instance %s; its value is shown once (`connhub credentials reveal %s` shows it again, audited)\n", c.Name, c.InstanceID, c.Name)
	return printCredential(io, c)
}

func runCredentialsList(ctx context.Context, cf clientFlags, io streams) error {
	h, err := cf.connect(io)
	if err != nil {
		return err
	}
	list := []connhub.Credential{}
	for c, err := range h.AllCredentials(ctx) {
		if err != nil {
			return h.fail(err)
		}
		list = append(list, c)
	}
	if !h.human() {
		return h.emit(list)
	}
	tw := newTable(io.stdout)
	row(tw, "ID", "NAME", "KIND", "INSTANCE", "DESCRIPTION", "CREATED")
	for _, c := range list {
		row(tw, c.ID, c.Name, c.Kind, c.InstanceID, c.Description, c.CreatedAt.UTC().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// runCredentialsShow prints a named credential: its hint (get), its value
// (reveal), or a new value (rotate).
func runCredentialsShow(ctx context.Context, cf clientFlags, nameOrID, how string, io streams) error {
	h, err := cf.connect(io)
	if err != nil {
		return err
	}
	show := map[string]func(context.Context, string) (connhub.Credential, error){"get": h.GetCredential, "reveal": h.RevealCredential, "rotate": h.RotateCredential}[how]
	c, err := show(ctx, nameOrID)
	if err != nil {
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(c)
	}
	return printCredential(io, c)
}

func runCredentialsDelete(ctx context.Context, cf clientFlags, id string, io streams) error {
	h, err := cf.connect(io)
	if err != nil {
		return err
	}
	if err := h.DeleteCredential(ctx, id); err != nil {
		return h.fail(err)
	}
	if !h.human() {
		return h.emit(map[string]any{"deleted": true, "id": id})
	}
	fmt.Fprintf(io.stdout, "connhub: deleted credential %s\n", id)
	return nil
}

func printCredential(io streams, c connhub.Credential) error {
	return printFields(io.stdout, []field{
		{"ID", c.ID}, {"Name", c.Name}, {"Kind", c.Kind}, {"Instance", c.InstanceID}, {"Description", c.Description},
		{"Created", when(c.CreatedAt)}, {"Hint", c.Hint}, {"Value", c.Value},
	})
}
