package query

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is what every error of the language wraps, *SyntaxError
// included (through its Is method): an input, an Expr built by hand, or (the
// store wraps it too) a cursor it did not issue. An API answers it with a
// client error.
var ErrInvalid = errors.New("query: invalid")

// maxTree is how deep an Expr may nest. Parse cannot make a deeper one:
// MaxDepth NOTs, and an OR and an AND for each of MaxDepth+1 levels of
// parentheses, above one test.
const maxTree = 3*MaxDepth + 3

// Validate reports whether e is an expression Parse could have returned:
// for an Expr built by hand. The store validates what it is given before
// compiling it.
func Validate(e Expr) error {
	if e == nil {
		return nil
	}
	if err := validate(e, 1); err != nil {
		if errors.Is(err, ErrInvalid) {
			return err // a field's, already wrapped
		}
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// ValidateOrder reports whether order is one ParseOrder could have returned.
func ValidateOrder(order []Order) error {
	if len(order) > MaxOrder {
		return fmt.Errorf("%w: an order of %d fields, more than %d", ErrInvalid, len(order), MaxOrder)
	}
	for _, o := range order {
		if err := o.Field.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func validate(e Expr, depth int) error {
	if depth > maxTree {
		return fmt.Errorf("the expression nests more than %d deep", maxTree)
	}
	terms := func(op string, ts []Expr) error {
		if len(ts) == 0 {
			return fmt.Errorf("%s without terms", op)
		}
		for _, t := range ts {
			if err := validate(t, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	switch e := e.(type) {
	case *And:
		return terms("AND", e.Terms)
	case *Or:
		return terms("OR", e.Terms)
	case *Not:
		if e.X == nil {
			return fmt.Errorf("NOT without an operand")
		}
		return validate(e.X, depth+1)
	case *Compare:
		if err := e.Field.Validate(); err != nil {
			return err
		}
		if msg := misfit(e.Field, e.Op, e.Value); msg != "" {
			return fmt.Errorf("%s", msg)
		}
		return nil
	case *Like:
		if err := e.Field.Validate(); err != nil {
			return err
		}
		if e.Field.IsTime() {
			return fmt.Errorf("LIKE matches strings, and %s is a time", e.Field.Name())
		}
		if msg := badPattern(e.Pattern); msg != "" {
			return fmt.Errorf("%s", msg)
		}
		return nil
	case *In:
		if err := e.Field.Validate(); err != nil {
			return err
		}
		if len(e.Values) == 0 || len(e.Values) > MaxIn {
			return fmt.Errorf("an IN list holds 1 to %d values, not %d", MaxIn, len(e.Values))
		}
		for _, v := range e.Values {
			if msg := misfit(e.Field, Eq, v); msg != "" {
				return fmt.Errorf("%s", msg)
			}
		}
		return nil
	case *Has:
		if err := e.Field.Validate(); err != nil {
			return err
		}
		if msg := hasMisfit(e.Field, e.Value); msg != "" {
			return fmt.Errorf("%s", msg)
		}
		return nil
	case *IsNull:
		return e.Field.Validate()
	case nil:
		return fmt.Errorf("a nil expression")
	}
	return fmt.Errorf("unknown expression %T", e)
}

// misfit says why "f op v" means nothing, or "" when it means something. A
// time field's value is KindTime by then.
func misfit(f Field, op Op, v Value) string {
	switch op {
	case Eq, Ne, Lt, Le, Gt, Ge:
	default:
		return fmt.Sprintf("unknown operator %q", string(op))
	}
	switch {
	case v.Kind > KindTime:
		return fmt.Sprintf("unknown kind of value %d", v.Kind)
	case v.Kind == KindNull && op != Eq && op != Ne:
		return fmt.Sprintf("%s does not take null: only = and != do (or write IS NULL)", op)
	case v.Kind == KindBool && op != Eq && op != Ne:
		return fmt.Sprintf("booleans compare only with = and !=, not %s", op)
	case v.Kind == KindNumber && !isNumber(v.Text):
		return fmt.Sprintf("%q is not a number", v.Text)
	case v.Kind == KindTime && !f.IsTime():
		return fmt.Sprintf("%s is not a time: compare it with a string", f.Name())
	case f.IsTime() && v.Kind != KindTime && v.Kind != KindNull:
		return fmt.Sprintf("%s is a time: compare it with a string such as '2024-01-31' or '2024-01-31T12:00:00Z', not %s", f.Name(), v)
	case f.Meta && !f.IsTime() && v.Kind != KindString && v.Kind != KindNull:
		return fmt.Sprintf("%s is a string: compare it with a string, not %s", f.Name(), v)
	}
	return ""
}

// hasMisfit says why "f HAS v" means nothing, or "" when it means something.
func hasMisfit(f Field, v Value) string {
	switch {
	case f.Meta:
		return hasMeta(f)
	case v.Kind == KindNull:
		return "HAS takes a string, a number, true or false, not null (write IS NULL to test the field itself)"
	case v.Kind == KindTime:
		return "HAS takes a string, a number, true or false, not a time"
	}
	return misfit(f, Eq, v)
}

func hasMeta(f Field) string {
	return fmt.Sprintf("HAS looks into an array of the data, and %s is a meta field, never an array", f.Name())
}

// badPattern says why a LIKE pattern is not one, or "" when it is.
func badPattern(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' {
			if i++; i == len(p) || !strings.ContainsRune(`%_\`, rune(p[i])) {
				return `in a LIKE pattern a backslash escapes only %, _ or \ (write \\ for a backslash)`
			}
		}
	}
	return ""
}

// isNumber reports whether s is a number of the grammar.
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	return digits(whole) && (!dot || digits(frac))
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
