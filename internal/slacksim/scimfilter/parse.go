package scimfilter

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// The codes of Slack's SCIM error table a filter that does not parse gets.
const (
	CodeNoFilters          = "no_filters"
	CodeInvalidQuery       = "invalid_query"
	CodeInvalidFilterGroup = "invalid_filter_group"
	CodeIncompleteFilter   = "incomplete_filter"
)

// Error is a filter that does not parse: Code is the SCIM error code to
// answer, Detail says what is wrong for a log.
type Error struct {
	Code   string
	Detail string
}

func (e *Error) Error() string { return "scimfilter: " + e.Code + ": " + e.Detail }

func fail(code, detail string) *Error { return &Error{Code: code, Detail: detail} }

// coreURNs are the prefixes an attribute may carry: RFC 7644 lets a filter
// name an attribute by its schema URN.
var coreURNs = []string{"urn:ietf:params:scim:schemas:core:2.0:user:", "urn:ietf:params:scim:schemas:core:2.0:group:"}

// RFC7644 lists every operator of RFC 7644's filters: the comparisons and
// not. (and and or are always allowed.)
var RFC7644 = []string{"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "not"}

// Syntax says what a filter may use.
type Syntax struct {
	// Known says which attributes exist, by their lower-cased path
	// ("username", "emails.type"); inside a value path attr[…] it is asked
	// about "attr.sub".
	Known func(attr string) bool
	// Operators are the comparison operators a filter may use, and "not";
	// nil allows all of RFC7644. Another operator is invalid_query.
	Operators []string
}

func (syn Syntax) allows(op string) bool {
	return syn.Operators == nil || slices.Contains(syn.Operators, op)
}

// Parse parses the filter s. The error, if any, is an *Error.
func Parse(s string, syn Syntax) (Filter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fail(CodeNoFilters, "the filter is empty")
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, known: syn.Known, syn: syn}
	f, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		if k := p.toks[p.i].kind; k == ')' || k == ']' {
			return nil, fail(CodeInvalidFilterGroup, "a closing bracket in the filter has no opening one")
		}
		return nil, fail(CodeInvalidQuery, "the filter goes on after a complete expression: "+p.toks[p.i].text)
	}
	return f, nil
}

type token struct {
	kind byte // 'w' word, 's' string, or one of ( ) [ ]
	text string
}

func lex(s string) ([]token, *Error) {
	var out []token
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case strings.IndexByte("()[]", ch) >= 0:
			out = append(out, token{kind: ch})
			i++
		case ch == '"' || ch == '\'':
			j := i + 1
			for j < len(s) && s[j] != ch {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fail(CodeIncompleteFilter, "a string in the filter is not closed")
			}
			lit := s[i : j+1]
			if ch == '\'' {
				lit = `"` + strings.ReplaceAll(s[i+1:j], `"`, `\"`) + `"`
			}
			var str string
			if json.Unmarshal([]byte(lit), &str) != nil {
				return nil, fail(CodeInvalidQuery, "a string in the filter is not a valid JSON string")
			}
			out = append(out, token{kind: 's', text: str})
			i = j + 1
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n()[]\"'", s[j]) < 0 {
				j++
			}
			out = append(out, token{kind: 'w', text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

// parser is a recursive descent over the tokens:
//
//	expr   = term {"or" term}
//	term   = factor {"and" factor}
//	factor = "(" expr ")" | "not" "(" expr ")" | attr "[" expr "]" | attr "pr" | attr op value
type parser struct {
	toks  []token
	i     int
	known func(string) bool
	syn   Syntax
}

func (p *parser) peekWord(w string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == 'w' && strings.EqualFold(p.toks[p.i].text, w)
}

func (p *parser) expr() (Filter, *Error) {
	l, err := p.term()
	for err == nil && p.peekWord("or") {
		p.i++
		var r Filter
		if r, err = p.term(); err == nil {
			l = or{l, r}
		}
	}
	return l, err
}

func (p *parser) term() (Filter, *Error) {
	l, err := p.factor()
	for err == nil && p.peekWord("and") {
		p.i++
		var r Filter
		if r, err = p.factor(); err == nil {
			l = and{l, r}
		}
	}
	return l, err
}

func (p *parser) group(close byte) (Filter, *Error) {
	f, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i >= len(p.toks) || p.toks[p.i].kind != close {
		return nil, fail(CodeInvalidFilterGroup, "a bracket in the filter is not closed")
	}
	p.i++
	return f, nil
}

func (p *parser) factor() (Filter, *Error) {
	if p.i >= len(p.toks) {
		return nil, fail(CodeIncompleteFilter, "the filter ends where an expression should be")
	}
	t := p.toks[p.i]
	p.i++
	switch {
	case t.kind == '(':
		return p.group(')')
	case t.kind == 'w' && strings.EqualFold(t.text, "not") && p.i < len(p.toks) && p.toks[p.i].kind == '(':
		if !p.syn.allows("not") {
			return nil, fail(CodeInvalidQuery, "the filter uses not, which is not supported")
		}
		p.i++
		f, err := p.group(')')
		if err != nil {
			return nil, err
		}
		return not{f}, nil
	case t.kind != 'w':
		if t.kind == ')' || t.kind == ']' {
			return nil, fail(CodeInvalidFilterGroup, "a closing bracket where an expression should be")
		}
		return nil, fail(CodeInvalidQuery, "an expression must start with an attribute")
	}
	attr := strings.ToLower(t.text)
	for _, urn := range coreURNs {
		attr = strings.TrimPrefix(attr, urn)
	}
	if p.i < len(p.toks) && p.toks[p.i].kind == '[' {
		p.i++
		outer := p.known
		if !outer(attr) {
			return nil, fail(CodeInvalidQuery, "the filter names an unknown attribute: "+t.text)
		}
		p.known = func(a string) bool { return outer(attr + "." + a) }
		inner, err := p.group(']')
		p.known = outer
		if err != nil {
			return nil, err
		}
		return valuePath{attr: attr, inner: inner}, nil
	}
	if !p.known(attr) {
		return nil, fail(CodeInvalidQuery, "the filter names an unknown attribute: "+t.text)
	}
	if p.i >= len(p.toks) {
		return nil, fail(CodeIncompleteFilter, "the filter ends after "+t.text)
	}
	o := p.toks[p.i]
	op := strings.ToLower(o.text)
	if o.kind != 'w' || op == "not" || !slices.Contains(RFC7644, op) {
		return nil, fail(CodeInvalidQuery, "not a filter operator: "+o.text)
	}
	if !p.syn.allows(op) {
		return nil, fail(CodeInvalidQuery, "the filter uses "+op+", which is not supported")
	}
	p.i++
	if op == "pr" {
		return cmp{attr: attr, op: op}, nil
	}
	if p.i >= len(p.toks) {
		return nil, fail(CodeIncompleteFilter, "the filter ends after "+o.text)
	}
	v := p.toks[p.i]
	p.i++
	switch v.kind {
	case 's':
		return cmp{attr: attr, op: op, val: v.text}, nil
	case 'w':
		switch strings.ToLower(v.text) {
		case "true":
			return cmp{attr: attr, op: op, val: true}, nil
		case "false":
			return cmp{attr: attr, op: op, val: false}, nil
		case "null":
			return cmp{attr: attr, op: op}, nil
		case "and", "or":
			return nil, fail(CodeIncompleteFilter, "a comparison has no value")
		}
		if n, err := strconv.ParseFloat(v.text, 64); err == nil {
			return cmp{attr: attr, op: op, val: n}, nil
		}
		return cmp{attr: attr, op: op, val: v.text}, nil
	}
	return nil, fail(CodeIncompleteFilter, "a comparison has no value")
}
