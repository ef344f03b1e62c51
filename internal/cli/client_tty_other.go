//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import (
	"context"
	"os"
)

// isTerminal reports whether f is a character device, the best guess at a
// terminal without termios.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// readHidden calls prompt and reads a line; here it cannot turn echo off.
func readHidden(ctx context.Context, f *os.File, prompt func()) (string, error) {
	prompt()
	return readLine(ctx, f)
}
