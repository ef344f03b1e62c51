package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The limits of the language.
const (
	MaxInput = 4096 // bytes of input
	MaxDepth = 32   // parentheses and NOTs nested
	MaxPath  = 32   // segments of a field's path
	MaxIn    = 1000 // values of an IN list
	MaxOrder = 8    // fields of an order_by
)

// SyntaxError is why an input does not parse. Pos is the 1-based column, in
// characters, where the trouble is (one past the last for the end of input).
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("position %d: %s", e.Pos, e.Msg) }

// Is makes a SyntaxError match ErrInvalid.
func (e *SyntaxError) Is(target error) bool { return target == ErrInvalid }

// Parse parses a where expression. Blank input is no condition: a nil Expr
// and no error.
func Parse(src string) (Expr, error) { return ParseFor(src, nil) }

// ParseFor parses a where expression as Parse does, and checks every test
// against the types schema gives the fields: a string compared with a number
// or boolean field, LIKE on a field that is not a string, HAS on one that is
// not an array, or a path into a field that holds no object is a
// *SyntaxError at the value or operator at fault. A nil schema checks nothing.
func ParseFor(src string, schema Schema) (Expr, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	p.schema = schema
	if p.peek().kind == tEnd {
		return nil, nil
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEnd {
		return nil, p.unexpected(t, "AND, OR or the end of input")
	}
	return e, nil
}

// ParseOrder parses an order_by list: "profile.real_name DESC, _key". Blank
// input is no order (nil).
func ParseOrder(src string) ([]Order, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	var out []Order
	err = p.list(func(t token, f Field) error {
		if len(out) == MaxOrder {
			return p.errAt(t.off, "order_by takes at most %d fields", MaxOrder)
		}
		o := Order{Field: f}
		if d := p.peek(); d.kind == tField && len(d.path) == 1 && (strings.EqualFold(d.text, "ASC") || strings.EqualFold(d.text, "DESC")) {
			p.next()
			o.Desc = strings.EqualFold(d.text, "DESC")
		}
		out = append(out, o)
		return nil
	}, `ASC, DESC, "," or the end of input`)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ParseFields parses a fields list: "id, profile.email, _team_id". Blank input
// is no list (nil).
func ParseFields(src string) ([]Field, error) {
	p, err := newParser(src)
	if err != nil {
		return nil, err
	}
	if err := p.list(func(token, Field) error { return nil }, `"," or the end of input`); err != nil {
		return nil, err
	}
	return p.listed, nil
}

// tokKind is the kind of a token.
type tokKind uint8

const (
	tEnd     tokKind = iota
	tField           // a dot path
	tKeyword         // val holds it upper-cased
	tString          // val holds its characters
	tNumber
	tOp // val holds it normalised: "<>" is "!="
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	off  int    // byte offset in the input
	text string // as written
	val  string
	path []string
}

var keywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "LIKE": true, "IN": true, "HAS": true, "IS": true, "NULL": true, "TRUE": true, "FALSE": true}

// lex splits src into tokens, the last of them tEnd.
func lex(src string) ([]token, error) {
	if len(src) > MaxInput {
		return nil, errAt(src, MaxInput, "the input is %d bytes, more than %d", len(src), MaxInput)
	}
	for i, r := range src {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(src[i:]); n == 1 {
				return nil, errAt(src, i, "the input is not valid UTF-8")
			}
		}
		if r == 0 {
			return nil, errAt(src, i, "the input holds a NUL character")
		}
	}
	var toks []token
	i := 0
	for {
		for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
			i++
		}
		if i == len(src) {
			return append(toks, token{kind: tEnd, off: i}), nil
		}
		start, c := i, src[i]
		t := token{off: start}
		switch {
		case c == '(':
			t.kind, i = tLParen, i+1
		case c == ')':
			t.kind, i = tRParen, i+1
		case c == ',':
			t.kind, i = tComma, i+1
		case c == '\'':
			var b strings.Builder
			for i++; ; i++ {
				if i == len(src) {
					return nil, errAt(src, start, "a string that is never closed (a quote inside one is written '')")
				}
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						i++
						continue
					}
					i++
					break
				}
				b.WriteByte(src[i])
			}
			t.kind, t.val = tString, b.String()
		case c == '-' || isDigit(c):
			if c == '-' {
				i++
				if i == len(src) || !isDigit(src[i]) {
					return nil, errAt(src, start, `expected a digit after "-"`)
				}
			}
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			if i < len(src) && src[i] == '.' {
				i++
				if i == len(src) || !isDigit(src[i]) {
					return nil, errAt(src, i-1, `expected a digit after the "." of a number`)
				}
				for i < len(src) && isDigit(src[i]) {
					i++
				}
			}
			t.kind = tNumber
		case isNameStart(c):
			for {
				j := i
				for i < len(src) && (isNameStart(src[i]) || isDigit(src[i])) {
					i++
				}
				t.path = append(t.path, src[j:i])
				if i == len(src) || src[i] != '.' {
					break
				}
				if i++; i == len(src) || !isNameStart(src[i]) {
					return nil, errAt(src, i-1, `expected a name after "."`)
				}
			}
			t.kind = tField
			if up := strings.ToUpper(t.path[0]); len(t.path) == 1 && keywords[up] {
				t.kind, t.val = tKeyword, up
			}
		case c == '=':
			t.kind, t.val, i = tOp, "=", i+1
		case c == '!' && i+1 < len(src) && src[i+1] == '=':
			t.kind, t.val, i = tOp, "!=", i+2
		case c == '<' || c == '>':
			t.kind, t.val, i = tOp, string(c), i+1
			if i < len(src) && src[i] == '=' {
				t.val, i = t.val+"=", i+1
			} else if c == '<' && i < len(src) && src[i] == '>' {
				t.val, i = "!=", i+1
			}
		default:
			r, _ := utf8.DecodeRuneInString(src[i:])
			return nil, errAt(src, i, "unexpected character %q", r)
		}
		t.text = src[start:i]
		toks = append(toks, t)
	}
}

func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isNameStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// errAt makes the error at byte offset off of src.
func errAt(src string, off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos(src, off), Msg: fmt.Sprintf(format, args...)}
}

// pos is the 1-based character column of byte offset off of src.
func pos(src string, off int) int { return utf8.RuneCountInString(src[:off]) + 1 }

type parser struct {
	src    string
	schema Schema // nil: no type checks
	toks   []token
	i      int
	depth  int
	listed []Field // what list has read
}

func newParser(src string) (*parser, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	return &parser{src: src, toks: toks}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEnd {
		p.i++
	}
	return t
}

// keyword consumes the next token if it is the keyword k.
func (p *parser) keyword(k string) bool {
	if t := p.peek(); t.kind == tKeyword && t.val == k {
		p.next()
		return true
	}
	return false
}

func (p *parser) errAt(off int, format string, args ...any) error {
	return errAt(p.src, off, format, args...)
}

func (p *parser) unexpected(t token, want string) error {
	return p.errAt(t.off, "expected %s, found %s", want, describe(t))
}

func describe(t token) string {
	if t.kind == tEnd {
		return "the end of input"
	}
	s := t.text
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:37]) + "…"
	}
	return strconv.Quote(s)
}

// enter counts one level of nesting at t.
func (p *parser) enter(t token) error {
	if p.depth++; p.depth > MaxDepth {
		return p.errAt(t.off, "parentheses and NOTs nest more than %d deep", MaxDepth)
	}
	return nil
}

func (p *parser) or() (Expr, error) {
	var terms []Expr
	for {
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		if o, ok := e.(*Or); ok {
			terms = append(terms, o.Terms...)
		} else {
			terms = append(terms, e)
		}
		if !p.keyword("OR") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return &Or{Terms: terms}, nil
}

func (p *parser) and() (Expr, error) {
	var terms []Expr
	for {
		e, err := p.not()
		if err != nil {
			return nil, err
		}
		if a, ok := e.(*And); ok {
			terms = append(terms, a.Terms...)
		} else {
			terms = append(terms, e)
		}
		if !p.keyword("AND") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return &And{Terms: terms}, nil
}

func (p *parser) not() (Expr, error) {
	t := p.peek()
	switch {
	case t.kind == tKeyword && t.val == "NOT":
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &Not{X: x}, nil
	case t.kind == tLParen:
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, p.unexpected(c, fmt.Sprintf(`AND, OR or ")" to close the "(" at position %d`, pos(p.src, t.off)))
		}
		p.depth--
		return e, nil
	case t.kind == tField:
		return p.test()
	}
	return nil, p.unexpected(t, `a condition (a field, NOT or "(")`)
}

// field reads the field named by t.
func (p *parser) field(t token) (Field, error) {
	if len(t.path) > MaxPath {
		return Field{}, p.errAt(t.off, "the path %s has more than %d segments", t.path[0]+"…", MaxPath)
	}
	if !strings.HasPrefix(t.path[0], "_") {
		return Field{Path: t.path}, nil
	}
	if _, ok := metaTime[t.path[0]]; !ok || len(t.path) > 1 {
		return Field{}, p.errAt(t.off, "%q is not a meta field: a name beginning with _ is one of %s, %s, %s, %s, %s or %s",
			t.text, MetaKey, MetaTeamID, MetaFirstSeenAt, MetaLastSeenAt, MetaSourceUpdatedAt, MetaDeletedAt)
	}
	return Field{Path: t.path, Meta: true}, nil
}

// test reads a field and what is tested of it.
func (p *parser) test() (Expr, error) {
	ft := p.next()
	f, err := p.field(ft)
	if err != nil {
		return nil, err
	}
	if msg := p.schema.badPath(f); msg != "" {
		return nil, p.errAt(ft.off, "%s", msg)
	}
	t := p.next()
	switch {
	case t.kind == tOp:
		vt := p.next()
		v, err := p.value(vt, fmt.Sprintf("a value after %q", t.text))
		if err != nil {
			return nil, err
		}
		op := Op(t.val)
		if v, err = p.check(f, op, v, vt); err != nil {
			return nil, err
		}
		return &Compare{Field: f, Op: op, Value: v}, nil
	case t.kind == tKeyword && t.val == "NOT":
		switch n := p.next(); {
		case n.kind == tKeyword && n.val == "LIKE":
			return p.like(f, n, true)
		case n.kind == tKeyword && n.val == "IN":
			return p.in(f, true)
		case n.kind == tKeyword && n.val == "HAS":
			return p.has(f, n, true)
		default:
			return nil, p.unexpected(n, `LIKE, IN or HAS after "NOT"`)
		}
	case t.kind == tKeyword && t.val == "LIKE":
		return p.like(f, t, false)
	case t.kind == tKeyword && t.val == "IN":
		return p.in(f, false)
	case t.kind == tKeyword && t.val == "HAS":
		return p.has(f, t, false)
	case t.kind == tKeyword && t.val == "IS":
		not, after := p.keyword("NOT"), `"IS"`
		if not {
			after = `"IS NOT"`
		}
		if n := p.next(); n.kind != tKeyword || n.val != "NULL" {
			return nil, p.unexpected(n, "NULL after "+after)
		}
		return &IsNull{Field: f, Not: not}, nil
	}
	return nil, p.unexpected(t, fmt.Sprintf("an operator (=, !=, <, <=, >, >=, LIKE, IN, HAS or IS) after %q", ft.text))
}

// value reads the literal t.
func (p *parser) value(t token, want string) (Value, error) {
	switch {
	case t.kind == tString:
		return Value{Kind: KindString, Text: t.val}, nil
	case t.kind == tNumber:
		return Value{Kind: KindNumber, Text: t.text}, nil
	case t.kind == tKeyword && t.val == "TRUE":
		return Value{Kind: KindBool, Bool: true}, nil
	case t.kind == tKeyword && t.val == "FALSE":
		return Value{Kind: KindBool}, nil
	case t.kind == tKeyword && t.val == "NULL":
		return Value{Kind: KindNull}, nil
	}
	return Value{}, p.unexpected(t, want)
}

// check reports whether f op v means something, and reads v as a time where
// f is one.
func (p *parser) check(f Field, op Op, v Value, t token) (Value, error) {
	if f.IsTime() && v.Kind == KindString {
		ms, err := parseTime(v.Text)
		if err != nil {
			return v, p.errAt(t.off, "%s is not a time: write RFC 3339 ('2024-01-31T12:00:00Z') or a date ('2024-01-31')", describe(t))
		}
		v = Value{Kind: KindTime, Text: v.Text, Millis: ms}
	}
	if msg := misfit(f, op, v); msg != "" {
		return v, p.errAt(t.off, "%s", msg)
	}
	if msg := p.schema.mismatch(f, v); msg != "" {
		return v, p.errAt(t.off, "%s", msg)
	}
	return v, nil
}

// parseTime reads an RFC 3339 time or a date (UTC midnight) as milliseconds
// since the Unix epoch.
func parseTime(s string) (int64, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UnixMilli(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}

func (p *parser) like(f Field, at token, not bool) (Expr, error) {
	if f.IsTime() {
		return nil, p.errAt(at.off, "LIKE matches strings, and %s is a time", f.Name())
	}
	if msg := p.schema.mismatchLike(f); msg != "" {
		return nil, p.errAt(at.off, "%s", msg)
	}
	t := p.next()
	if t.kind != tString {
		return nil, p.unexpected(t, "a string pattern after LIKE")
	}
	if msg := badPattern(t.val); msg != "" {
		return nil, p.errAt(t.off, "%s", msg)
	}
	return &Like{Field: f, Pattern: t.val, Not: not}, nil
}

func (p *parser) in(f Field, not bool) (Expr, error) {
	if t := p.next(); t.kind != tLParen {
		return nil, p.unexpected(t, `"(" after IN`)
	}
	var vals []Value
	for {
		vt := p.next()
		v, err := p.value(vt, "a value")
		if err != nil {
			return nil, err
		}
		if len(vals) == MaxIn {
			return nil, p.errAt(vt.off, "an IN list holds at most %d values", MaxIn)
		}
		if v, err = p.check(f, Eq, v, vt); err != nil {
			return nil, err
		}
		vals = append(vals, v)
		switch t := p.next(); t.kind {
		case tRParen:
			return &In{Field: f, Values: vals, Not: not}, nil
		case tComma:
		default:
			return nil, p.unexpected(t, `"," or ")"`)
		}
	}
}

// has reads the value that the array f, at the HAS token at, is to hold.
func (p *parser) has(f Field, at token, not bool) (Expr, error) {
	if f.Meta {
		return nil, p.errAt(at.off, "%s", hasMeta(f))
	}
	if msg := p.schema.mismatchHas(f); msg != "" {
		return nil, p.errAt(at.off, "%s", msg)
	}
	vt := p.next()
	v, err := p.value(vt, "a value after HAS")
	if err != nil {
		return nil, err
	}
	if msg := hasMisfit(f, v); msg != "" {
		return nil, p.errAt(vt.off, "%s", msg)
	}
	return &Has{Field: f, Value: v, Not: not}, nil
}

// list reads a comma-separated list of fields into p.listed, calling each
// with every field as it is read (to read what follows it) and refusing a
// field listed twice.
func (p *parser) list(each func(token, Field) error, want string) error {
	if p.peek().kind == tEnd {
		return nil
	}
	seen := map[string]bool{}
	for {
		t := p.next()
		if t.kind != tField {
			return p.unexpected(t, "a field")
		}
		f, err := p.field(t)
		if err != nil {
			return err
		}
		if seen[f.Name()] {
			return p.errAt(t.off, "%s is listed twice", f.Name())
		}
		seen[f.Name()] = true
		if err := each(t, f); err != nil {
			return err
		}
		p.listed = append(p.listed, f)
		switch t := p.next(); t.kind {
		case tEnd:
			return nil
		case tComma:
		default:
			return p.unexpected(t, want)
		}
	}
}
