package slack_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/slackspec"
)

// slackCodes are every error code Slack documents: the common ones and each
// method's (FACTS.md's methods.json, as internal/slackspec holds it).
func slackCodes() map[string]bool {
	all := map[string]bool{}
	for _, c := range slackspec.CommonErrors() {
		all[c] = true
	}
	for _, name := range slackspec.Names() {
		m, _ := slackspec.Lookup(name)
		for _, c := range m.Errors {
			all[c] = true
		}
	}
	return all
}

// Every code the table classifies is one Slack documents.
func TestTheTableHoldsRealCodes(t *testing.T) {
	t.Parallel()
	real := slackCodes()
	for _, c := range slack.Codes() {
		if !real[c] {
			t.Errorf("the table classifies %q, which Slack does not document", c)
		}
		if slack.Classify(c) == slack.Fail {
			t.Errorf("%q is in the table as Fail, the answer for codes not in it", c)
		}
	}
	if slack.Classify("no_such_code_at_all") != slack.Fail {
		t.Error("a code not in the table is not Fail")
	}
}

// Every Slack error code that connhub's code compares an answer with (a
// string literal that is a documented code, outside tests) is in the table:
// a decision on a code made anywhere but the table would be a sixth switch.
func TestEveryCodeActedOnIsInTheTable(t *testing.T) {
	t.Parallel()
	real := slackCodes()
	// Literals that are codes by name but are not Slack answers acted on.
	notActedOn := map[string]bool{
		"access_denied": true, // the consent page's redirect (error=access_denied), not a Web API answer
	}
	inTable := map[string]bool{}
	for _, c := range slack.Codes() {
		inTable[c] = true
	}
	root := filepath.Join("..", "..")
	// The packages that call Slack and decide on its answers. The sandbox
	// (slacksim) answers codes rather than acting on them.
	dirs := []string{"connector/slack", "slackcall", "proxy", "sync", "instance", "httpapi", "console", "cli"}
	var missing []string
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(root, d, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "codes.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			// A decision on a code is a comparison with it: == or !=, or a
			// switch's case.
			check := func(e ast.Expr) {
				lit, ok := e.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && real[s] && !inTable[s] && !notActedOn[s] {
					missing = append(missing, d+": "+s)
				}
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BinaryExpr:
					if n.Op == token.EQL || n.Op == token.NEQ {
						check(n.X)
						check(n.Y)
					}
				case *ast.CaseClause:
					for _, e := range n.List {
						check(e)
					}
				}
				return true
			})
		}
	}
	slices.Sort(missing)
	if missing = slices.Compact(missing); len(missing) > 0 {
		t.Errorf("Slack codes named outside the table, not in it: %v", missing)
	}
}
