package query

import (
	"fmt"
	"strings"
)

// Type is what a data field holds, as JSON has it.
type Type string

// The types of data fields. TypeAny is a field whose type varies or is not
// declared: it is not checked.
const (
	TypeAny    Type = ""
	TypeString Type = "string"
	TypeNumber Type = "number"
	TypeBool   Type = "boolean"
	TypeObject Type = "object"
	TypeArray  Type = "array"
)

// Types lists every type a schema may declare, TypeAny as "any".
var Types = []Type{TypeString, TypeNumber, TypeBool, TypeObject, TypeArray}

// Schema gives the types of a stream's top-level data fields. A field it
// does not name is TypeAny, as is every nested field (below an object or an
// undeclared field): only the top level is declared. A field's value may
// also be null or missing whatever its type.
type Schema map[string]Type

// typeOf is the declared type of the value f names.
func (s Schema) typeOf(f Field) Type {
	if f.Meta || len(f.Path) != 1 {
		return TypeAny
	}
	return s[f.Path[0]]
}

// scalar reports whether t holds no fields.
func scalar(t Type) bool { return t == TypeString || t == TypeNumber || t == TypeBool }

// badPath says why the path f cannot name anything, or "": a path that goes
// on below a string, number or boolean.
func (s Schema) badPath(f Field) string {
	if f.Meta || len(f.Path) < 2 {
		return ""
	}
	if t := s[f.Path[0]]; scalar(t) {
		return fmt.Sprintf("%s is a %s, so %s names nothing: only an object has fields", f.Path[0], t, f.Name())
	}
	return ""
}

// mismatch says why comparing f with v can never hold, or "": a literal of
// another type than the field's (null aside, which any field may be).
func (s Schema) mismatch(f Field, v Value) string {
	t := s.typeOf(f)
	if t == TypeAny || v.Kind == KindNull {
		return ""
	}
	switch t {
	case TypeObject:
		return fmt.Sprintf("%s is an object, which compares with nothing: name one of its fields (%s.name), or test it with IS NULL", f.Name(), f.Name())
	case TypeArray:
		return fmt.Sprintf("%s is an array, which compares with nothing: write %s HAS %s to look into it", f.Name(), f.Name(), v)
	}
	if got := kindType(v.Kind); got != t {
		return fmt.Sprintf("%s is a %s: compare it with %s, not the %s %s", f.Name(), t, example(t, v), got, v)
	}
	return ""
}

// mismatchLike says why f LIKE … can never hold, or "".
func (s Schema) mismatchLike(f Field) string {
	if t := s.typeOf(f); t != TypeAny && t != TypeString {
		return fmt.Sprintf("LIKE matches strings, and %s is %s %s", f.Name(), article(t), t)
	}
	return ""
}

// mismatchHas says why f HAS … can never hold, or "".
func (s Schema) mismatchHas(f Field) string {
	if t := s.typeOf(f); t != TypeAny && t != TypeArray {
		return fmt.Sprintf("HAS looks into an array, and %s is %s %s", f.Name(), article(t), t)
	}
	return ""
}

func kindType(k Kind) Type {
	switch k {
	case KindString, KindTime:
		return TypeString
	case KindNumber:
		return TypeNumber
	case KindBool:
		return TypeBool
	}
	return TypeAny
}

// example is a literal of type t, made from v where that reads naturally:
// '30' suggests 30, 'true' suggests true.
func example(t Type, v Value) string {
	switch t {
	case TypeNumber:
		if v.Kind == KindString && isNumber(strings.TrimSpace(v.Text)) {
			return "a number such as " + strings.TrimSpace(v.Text)
		}
		return "a number such as 30"
	case TypeBool:
		return "true or false"
	}
	if v.Kind == KindNumber || v.Kind == KindBool {
		return fmt.Sprintf("a string such as '%s'", v)
	}
	return "a string such as 'abc'"
}

func article(t Type) string {
	if t == TypeObject || t == TypeArray {
		return "an"
	}
	return "a"
}

// ParseType reads a type as a schema declares it: "string", "number",
// "boolean", "object", "array" or "any".
func ParseType(s string) (Type, error) {
	if s == "any" {
		return TypeAny, nil
	}
	for _, t := range Types {
		if string(t) == s {
			return t, nil
		}
	}
	return TypeAny, fmt.Errorf("%w: %q is not a type: string, number, boolean, object, array or any", ErrInvalid, s)
}
