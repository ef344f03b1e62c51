// Command connhub is the connector hub for Slack. Everything it does lives in
// internal/cli and the packages under it; this file only hands over the
// process's arguments, streams and signals.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/connhub/connhub/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
