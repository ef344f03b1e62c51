// Package connhubroot is the root of the connhub module. It holds no code of
// its own: the program is cmd/connhub, its parts live under internal/ (see
// docs/ARCHITECTURE.md), and this package's tests check the tree as a whole.
package connhubroot
