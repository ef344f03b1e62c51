package cli

import (
	"errors"
	"os"
)

// Tests never have a person at a terminal, whatever go test's stdin is, and
// never open a browser.
func init() {
	stdin = func() *os.File { return nil }
	openBrowser = func(string) error { return errors.New("no browser in tests") }
}

// SetStdin makes the prompts read f until restore is called. Only tests
// that do not run in parallel may call it.
func SetStdin(f *os.File) (restore func()) {
	stdin = func() *os.File { return f }
	return func() { stdin = func() *os.File { return nil } }
}
