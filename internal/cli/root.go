package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// usageError marks an error in the command line itself (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Execute runs connhub with args and returns the process exit status.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return ExecuteEnv(ctx, args, stdout, stderr, os.Getenv)
}

// ExecuteEnv is Execute with the environment read through getenv, for tests.
func ExecuteEnv(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	root := newRoot(streams{stdout: stdout, stderr: stderr, getenv: getenv})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	msg := strings.TrimSpace(strings.ReplaceAll(err.Error(), "\n", "; "))
	fmt.Fprintf(stderr, "connhub: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") {
		return 2
	}
	return 1
}

// streams are what a command reads and writes besides its flags.
type streams struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func newRoot(io streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "connhub",
		Short: "A self-hosted connector hub for Slack",
		Long: "connhub installs Slack apps by OAuth, keeps their tokens encrypted and fresh, proxies Slack\n" +
			"calls under Slack's rate limits and retrieves workspace data. It ships a Slack sandbox,\n" +
			"an offline emulator of the Slack platform, to try it and to test against.",
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(io.stdout)
	root.SetErr(io.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see 'connhub %s --help')", err, cmd.Name())}
	})
	root.AddCommand(newSandboxCmd(io.stdout, io.stderr), newMigrateCmd(io), newKeysCmd(io), newServeCmd(io))
	root.AddCommand(newClientCmds(io)...)
	return root
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q (see 'connhub %s --help')", cmd.CommandPath(), args[0], cmd.Name())}
	}
	return nil
}
