package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/tenant"
)

// newTokenNewCmd is `connhub token new`: a value for CONNHUB_ADMIN_TOKEN.
func newTokenNewCmd(io streams) *cobra.Command {
	return &cobra.Command{
		Use:   "new",
		Short: "Print a new random connhub API token, for CONNHUB_ADMIN_TOKEN",
		Long: "Print a new API token: " + tenant.APITokenPrefix + "_ and 43 random characters (256 bits from the\n" +
			"operating system's random source), the shape of every token connhub makes. It is not stored\n" +
			"anywhere and needs no hub: set it as CONNHUB_ADMIN_TOKEN, and the hub makes it the admin's\n" +
			"token at start-up.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := secrets.NewToken(tenant.APITokenPrefix)
			if err != nil {
				return err
			}
			fmt.Fprintln(io.stdout, t)
			return nil
		},
	}
}
