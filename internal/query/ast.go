package query

import (
	"fmt"
	"strings"
)

// Expr is a parsed where expression: *And, *Or, *Not, *Compare, *Like, *In,
// *Has or *IsNull. String renders it back in the language: parsing it gives
// the same Expr.
type Expr interface {
	String() string
	expr()
}

// And holds where every term holds: two or more, none of them an *And.
type And struct{ Terms []Expr }

// Or holds where any term holds: two or more, none of them an *Or.
type Or struct{ Terms []Expr }

// Not holds where X does not.
type Not struct{ X Expr }

// Compare compares a field with a value: Field Op Value.
type Compare struct {
	Field Field
	Op    Op
	Value Value
}

// Like matches a field's string against a pattern; Not negates it.
type Like struct {
	Field   Field
	Pattern string // as written between the quotes, with '' read as '
	Not     bool
}

// In holds where the field equals one of the values; Not negates it.
type In struct {
	Field  Field
	Values []Value
	Not    bool
}

// Has holds where the field is an array with an element that equals Value
// as = has it (of Value's type; a number by value); Not negates it. Value is
// a string, a number or a boolean.
type Has struct {
	Field Field
	Value Value
	Not   bool
}

// IsNull holds where the field is missing or null; Not negates it.
type IsNull struct {
	Field Field
	Not   bool
}

func (*And) expr()     {}
func (*Or) expr()      {}
func (*Not) expr()     {}
func (*Compare) expr() {}
func (*Like) expr()    {}
func (*In) expr()      {}
func (*Has) expr()     {}
func (*IsNull) expr()  {}

// Op is a comparison operator.
type Op string

// The comparison operators.
const (
	Eq Op = "="
	Ne Op = "!="
	Lt Op = "<"
	Le Op = "<="
	Gt Op = ">"
	Ge Op = ">="
)

// Kind is the type of a literal.
type Kind uint8

// The kinds of literal.
const (
	KindNull Kind = iota
	KindString
	KindNumber
	KindBool
	// KindTime is a string literal compared with a meta time field, read as
	// a time.
	KindTime
)

// Value is a literal.
type Value struct {
	Kind Kind
	// Text is a string's characters (with '' read as '), a number as
	// written ("-12.50"), or a time's string as written.
	Text   string
	Bool   bool  // KindBool
	Millis int64 // KindTime: milliseconds since the Unix epoch
}

// Field names a value of a record: a path into its JSON data, or a meta field
// (a column of the record).
type Field struct {
	// Path holds the segments of a dot path; a meta field's one segment is
	// its name ("_key").
	Path []string
	Meta bool
}

// Order sorts by a field.
type Order struct {
	Field Field
	Desc  bool
}

// The meta fields.
const (
	MetaKey             = "_key"
	MetaTeamID          = "_team_id"
	MetaFirstSeenAt     = "_first_seen_at"
	MetaLastSeenAt      = "_last_seen_at"
	MetaSourceUpdatedAt = "_source_updated_at"
	MetaDeletedAt       = "_deleted_at"
)

// metaTime tells the meta fields, true for those holding a time.
var metaTime = map[string]bool{
	MetaKey: false, MetaTeamID: false,
	MetaFirstSeenAt: true, MetaLastSeenAt: true, MetaSourceUpdatedAt: true, MetaDeletedAt: true,
}

// IsTime reports whether f is a meta field holding a time.
func (f Field) IsTime() bool { return f.Meta && len(f.Path) == 1 && metaTime[f.Path[0]] }

// Name is the field as written: "profile.email", "_key".
func (f Field) Name() string { return strings.Join(f.Path, ".") }

func (f Field) String() string { return f.Name() }

// Validate reports whether the language can name f: for an Expr built by
// hand rather than parsed.
func (f Field) Validate() error {
	switch {
	case len(f.Path) == 0:
		return fmt.Errorf("%w: a field without a path", ErrInvalid)
	case len(f.Path) > MaxPath:
		return fmt.Errorf("%w: field %s: more than %d segments", ErrInvalid, f.Name(), MaxPath)
	}
	for _, s := range f.Path {
		if !isName(s) {
			return fmt.Errorf("%w: field %q: %q is not a name ([A-Za-z_][A-Za-z0-9_]*)", ErrInvalid, f.Name(), s)
		}
	}
	meta := strings.HasPrefix(f.Path[0], "_")
	if _, known := metaTime[f.Path[0]]; meta && (!f.Meta || !known || len(f.Path) != 1) {
		return fmt.Errorf("%w: field %s: names beginning with _ are meta fields, and there is no such meta field", ErrInvalid, f.Name())
	}
	if f.Meta && !meta {
		return fmt.Errorf("%w: field %s is marked meta but does not begin with _", ErrInvalid, f.Name())
	}
	return nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func (o Order) String() string {
	if o.Desc {
		return o.Field.Name() + " DESC"
	}
	return o.Field.Name()
}

func (v Value) String() string {
	switch v.Kind {
	case KindString, KindTime:
		return "'" + strings.ReplaceAll(v.Text, "'", "''") + "'"
	case KindNumber:
		return v.Text
	case KindBool:
		if v.Bool {
			return "true"
		}
		return "false"
	}
	return "null"
}

// Precedence, for String's parentheses.
const (
	precOr = iota + 1
	precAnd
	precNot
	precTest
)

func prec(e Expr) int {
	switch e.(type) {
	case *Or:
		return precOr
	case *And:
		return precAnd
	case *Not:
		return precNot
	}
	return precTest
}

// operand renders e as an operand of an operator of precedence p.
func operand(e Expr, p int) string {
	if prec(e) <= p {
		return "(" + e.String() + ")"
	}
	return e.String()
}

func join(terms []Expr, p int, sep string) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		parts[i] = operand(t, p)
	}
	return strings.Join(parts, sep)
}

func (e *And) String() string { return join(e.Terms, precAnd, " AND ") }
func (e *Or) String() string  { return join(e.Terms, precOr, " OR ") }
func (e *Not) String() string { return "NOT " + operand(e.X, precAnd) }

func (e *Compare) String() string {
	return e.Field.Name() + " " + string(e.Op) + " " + e.Value.String()
}

func (e *Like) String() string {
	return e.Field.Name() + not(e.Not) + " LIKE " + Value{Kind: KindString, Text: e.Pattern}.String()
}

func (e *In) String() string {
	vals := make([]string, len(e.Values))
	for i, v := range e.Values {
		vals[i] = v.String()
	}
	return e.Field.Name() + not(e.Not) + " IN (" + strings.Join(vals, ", ") + ")"
}

func (e *Has) String() string {
	return e.Field.Name() + not(e.Not) + " HAS " + e.Value.String()
}

func (e *IsNull) String() string {
	if e.Not {
		return e.Field.Name() + " IS NOT NULL"
	}
	return e.Field.Name() + " IS NULL"
}

func not(b bool) string {
	if b {
		return " NOT"
	}
	return ""
}

// Fields lists every field e names, each once, in the order they first
// appear.
func Fields(e Expr) []Field {
	var out []Field
	seen := map[string]bool{}
	add := func(f Field) {
		if k := f.Name(); !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	var walk func(Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *And:
			for _, t := range e.Terms {
				walk(t)
			}
		case *Or:
			for _, t := range e.Terms {
				walk(t)
			}
		case *Not:
			walk(e.X)
		case *Compare:
			add(e.Field)
		case *Like:
			add(e.Field)
		case *In:
			add(e.Field)
		case *Has:
			add(e.Field)
		case *IsNull:
			add(e.Field)
		}
	}
	walk(e)
	return out
}
