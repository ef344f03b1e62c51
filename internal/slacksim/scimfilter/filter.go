package scimfilter

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Record is what a filter reads: a resource, or one element of a
// multi-valued attribute. attr is lower-cased.
type Record interface {
	// Values returns the values of attr: strings, float64s, bools or nil.
	// A multi-valued attribute returns every value, none when it has none.
	Values(attr string) []any
	// Elems returns the elements of the multi-valued attribute attr, each a
	// Record of its sub-attributes, for a value path attr[filter].
	Elems(attr string) []Record
}

// Elem is an element of a multi-valued attribute as a Record: its
// sub-attributes by lower-cased name. It has no elements of its own.
type Elem map[string]any

// Values returns the sub-attribute attr, if the element has it.
func (e Elem) Values(attr string) []any {
	if v, ok := e[attr]; ok {
		return []any{v}
	}
	return nil
}

// Elems returns nothing: an element has no multi-valued attributes.
func (e Elem) Elems(string) []Record { return nil }

// Filter is a parsed filter.
type Filter interface {
	// Match reports whether r passes the filter.
	Match(r Record) bool
	// String renders the filter with every and, or and not in parentheses,
	// attribute names as the Record sees them and values as JSON: a filter
	// that parses the same way renders the same.
	String() string
}

type (
	and struct{ a, b Filter }
	or  struct{ a, b Filter }
	not struct{ f Filter }
	cmp struct {
		attr, op string
		val      any // string, float64, bool or nil (null; nothing for pr)
	}
	valuePath struct {
		attr  string
		inner Filter
	}
)

func (f and) Match(r Record) bool { return f.a.Match(r) && f.b.Match(r) }
func (f or) Match(r Record) bool  { return f.a.Match(r) || f.b.Match(r) }
func (f not) Match(r Record) bool { return !f.f.Match(r) }

func (f valuePath) Match(r Record) bool {
	return slices.ContainsFunc(r.Elems(f.attr), f.inner.Match)
}

func (f cmp) Match(r Record) bool {
	vals := r.Values(f.attr)
	switch f.op {
	case "pr":
		return slices.ContainsFunc(vals, func(v any) bool { return v != nil && v != "" })
	case "ne":
		return !slices.ContainsFunc(vals, func(v any) bool { return compare(v, "eq", f.val) })
	}
	if f.val == nil && f.op == "eq" && len(vals) == 0 {
		return true
	}
	return slices.ContainsFunc(vals, func(v any) bool { return compare(v, f.op, f.val) })
}

// compare applies a comparison operator; strings compare without case.
func compare(have any, op string, want any) bool {
	if want == nil {
		return op == "eq" && (have == nil || have == "")
	}
	switch h := have.(type) {
	case bool:
		switch w := want.(type) {
		case bool:
			return op == "eq" && h == w
		case string:
			return op == "eq" && strings.EqualFold(w, strconv.FormatBool(h))
		}
		return false
	case string:
		w, ok := want.(string)
		if !ok {
			n, isNum := want.(float64)
			if !isNum {
				return false
			}
			w = strconv.FormatFloat(n, 'f', -1, 64)
		}
		a, b := strings.ToLower(h), strings.ToLower(w)
		switch op {
		case "eq":
			return a == b
		case "co":
			return strings.Contains(a, b)
		case "sw":
			return strings.HasPrefix(a, b)
		case "ew":
			return strings.HasSuffix(a, b)
		case "gt":
			return a > b
		case "ge":
			return a >= b
		case "lt":
			return a < b
		case "le":
			return a <= b
		}
	}
	return false
}

func (f and) String() string { return "(" + f.a.String() + " and " + f.b.String() + ")" }
func (f or) String() string  { return "(" + f.a.String() + " or " + f.b.String() + ")" }
func (f not) String() string {
	switch f.f.(type) {
	case and, or:
		return "not " + f.f.String()
	}
	return "not (" + f.f.String() + ")"
}
func (f valuePath) String() string { return f.attr + "[" + f.inner.String() + "]" }

func (f cmp) String() string {
	if f.op == "pr" {
		return f.attr + " pr"
	}
	var v string
	switch x := f.val.(type) {
	case nil:
		v = "null"
	case string:
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(strings.ToValidUTF8(x, "\uFFFD"))
		v = strings.TrimSuffix(b.String(), "\n")
	case bool:
		v = strconv.FormatBool(x)
	case float64:
		v = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return f.attr + " " + f.op + " " + v
}
