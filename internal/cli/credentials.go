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
		Short:   "Store instances' credentials under names that integration flows fetch",
		Long: "Named credentials (SAP Cloud Integration's User Credentials): an instance's Authorization\n" +
			"header value stored under a name, which integration flows fetch by that name. Creating and\n" +
			"fetching them is recorded in the hub's audit log; `credentials get` prints the value.",
	}
	cf.register(cmd.PersistentFlags())

	create := credentialsCreateOptions{}
	createCmd := &cobra.Command{
		Use:   "create --name NAME --instance ID",
		Short: "Store an instance's credentials under a name",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			create.clientFlags = cf
			return runCredentialsCreate(cmd.Context(), create, io)
		},
	}
	f := createCmd.Flags()
	f.StringVar(&create.Name, "name", "", "the name integration flows fetch it by (required)")
	f.StringVar(&create.InstanceID, "instance", "", "the instance whose credentials to store (required)")
	f.StringVar(&create.Kind, "kind", connhub.KindOpenConnectors, "open_connectors (User …, Organization …, Element …) or bearer (Bearer <instance token>)")
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
		Short: "Print a named credential with its value (audit-logged)",
		Args:  exactArgs("NAME_OR_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCredentialsGet(cmd.Context(), cf, args[0], io)
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
	cmd.AddCommand(createCmd, list, get, del)
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
	if h.json() {
		return printJSON(io.stdout, c)
	}
	fmt.Fprintf(io.stdout, "connhub: stored the credentials of instance %s as %q; `connhub credentials get %s` prints them\n", c.InstanceID, c.Name, c.Name)
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
	if h.json() {
		return printJSON(io.stdout, list)
	}
	tw := newTable(io.stdout)
	row(tw, "ID", "NAME", "KIND", "INSTANCE", "DESCRIPTION", "CREATED")
	for _, c := range list {
		row(tw, c.ID, c.Name, c.Kind, c.InstanceID, c.Description, c.CreatedAt.UTC().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func runCredentialsGet(ctx context.Context, cf clientFlags, nameOrID string, io streams) error {
	h, err := cf.connect(io)
	if err != nil {
		return err
	}
	c, err := h.GetCredential(ctx, nameOrID)
	if err != nil {
		return h.fail(err)
	}
	if h.json() {
		return printJSON(io.stdout, c)
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
	if h.json() {
		return printJSON(io.stdout, map[string]any{"deleted": true, "id": id})
	}
	fmt.Fprintf(io.stdout, "connhub: deleted credential %s\n", id)
	return nil
}

func printCredential(io streams, c connhub.Credential) error {
	return printFields(io.stdout, []field{
		{"ID", c.ID}, {"Name", c.Name}, {"Kind", c.Kind}, {"Instance", c.InstanceID}, {"Description", c.Description},
		{"Created", when(c.CreatedAt)}, {"Value", c.Value},
	})
}
