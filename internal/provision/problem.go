package provision

import (
	"fmt"
	"strings"
)

// ProblemCode says what is wrong with a directory file, stably, for
// programs; Problem.Message says it for people.
type ProblemCode string

const (
	ProblemMalformedFile    ProblemCode = "malformed_file"    // not CSV with a header, or not a JSON array
	ProblemMalformedRow     ProblemCode = "malformed_row"     // wrong number of fields, bad quoting, not a JSON object
	ProblemUnknownColumn    ProblemCode = "unknown_column"    // a column (JSON key) this package does not know
	ProblemDuplicateColumn  ProblemCode = "duplicate_column"  // a column named twice in the header
	ProblemMissingKey       ProblemCode = "missing_key"       // no value for the match key
	ProblemDuplicateKey     ProblemCode = "duplicate_key"     // the match key's value on two rows
	ProblemDuplicateValue   ProblemCode = "duplicate_value"   // the other unique attribute (email or userName) on two rows
	ProblemInvalidEmail     ProblemCode = "invalid_email"     // not an email address
	ProblemInvalidBoolean   ProblemCode = "invalid_boolean"   // active is not true or false
	ProblemInvalidValue     ProblemCode = "invalid_value"     // any other value Slack would refuse
	ProblemMissingAttribute ProblemCode = "missing_attribute" // a new person without userName or email (found when planning)
	ProblemConflict         ProblemCode = "conflict"          // a value that belongs to another Slack user (found when planning)
)

// Problem is one thing wrong with a directory file.
type Problem struct {
	// Row is where: in a CSV file the line the record starts on (the header
	// is line 1), in a JSON file the element's 1-based index; 0 is the file
	// as a whole.
	Row int `json:"row"`
	// OtherRow is the first row with the same value, for duplicates.
	OtherRow int         `json:"other_row,omitempty"`
	Column   string      `json:"column,omitempty"`
	Code     ProblemCode `json:"code"`
	Message  string      `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Row > 0 {
		fmt.Fprintf(&b, "row %d: ", p.Row)
	}
	if p.Column != "" {
		fmt.Fprintf(&b, "%s: ", p.Column)
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in a directory file, in row order. A file
// with problems has no plan: Parse and NewPlan return them as their error.
type Problems []Problem

func (ps Problems) Error() string {
	if len(ps) == 1 {
		return "provision: the file has a problem: " + ps[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "provision: the file has %d problems:", len(ps))
	for _, p := range ps {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}
