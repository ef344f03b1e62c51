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
	msg := oneLine(err.Error())
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
		return usageError{fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())}
	})
	root.AddCommand(newSandboxCmd(io.stdout, io.stderr), newMigrateCmd(io), newKeysCmd(io), newServeCmd(io), newVersionCmd(io))
	root.AddCommand(newClientCmds(io)...)
	groupsRefuseUnknown(root)
	return root
}

func newVersionCmd(io streams) *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print connhub's version", Args: noArgs, RunE: func(*cobra.Command, []string) error {
		fmt.Fprintf(io.stdout, "connhub %s\n", version())
		return nil
	}}
}

// groupsRefuseUnknown makes every command that only groups others (connhub
// instances, connhub keys…) refuse a subcommand it does not have, with the
// ones it may have meant, instead of printing its help and succeeding.
func groupsRefuseUnknown(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		groupsRefuseUnknown(c)
	}
	if cmd.HasParent() && cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			return usageError{unknownCommand(c, args[0])}
		}
	}
}

// unknownCommand says a subcommand does not exist, in one line, with the
// ones that are nearest.
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if near := cmd.SuggestionsFor(name); len(near) > 0 {
		msg += "; did you mean " + strings.Join(near, " or ") + "?"
	}
	return fmt.Errorf("%s (see '%s --help')", msg, cmd.CommandPath())
}

// oneLine puts an error on one line. Cobra's own "unknown command" error
// spreads its suggestions over several lines: they are gathered into one.
func oneLine(msg string) string {
	if strings.HasPrefix(msg, "unknown command") && strings.Contains(msg, "Did you mean this?") {
		head, rest, _ := strings.Cut(msg, "\n")
		var near []string
		for _, l := range strings.Split(rest, "\n") {
			if strings.HasPrefix(l, "\t") {
				near = append(near, strings.TrimSpace(l))
			}
		}
		return head + "; did you mean " + strings.Join(near, " or ") + "? (see 'connhub --help')"
	}
	if strings.HasPrefix(msg, "unknown command") && !strings.Contains(msg, "(see '") {
		head, _, _ := strings.Cut(msg, "\n")
		return head + " (see 'connhub --help')"
	}
	return strings.TrimSpace(strings.ReplaceAll(msg, "\n", "; "))
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
		return usageError{fmt.Errorf("%s takes no arguments, got %q (see '%s --help')", cmd.CommandPath(), args[0], cmd.CommandPath())}
	}
	return nil
}
