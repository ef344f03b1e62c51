// Package cli holds connhub's commands. Each command is a Run function taking a
// context, its options and the writers to print to, so that tests run commands
// in-process and read what they print; the cobra commands only parse flags into
// those options.
//
// Errors are printed as one line, "connhub: <what went wrong>", and the process
// exits non-zero: 2 for a command line that cannot be understood, 1 for
// everything else.
package cli
