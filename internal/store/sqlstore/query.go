package sqlstore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/connhub/connhub/internal/query"
	"github.com/connhub/connhub/internal/store"
)

// QueryRecords compiles a query.Expr and a query.Order list into one SELECT
// on records. Everything the caller wrote is a bound argument: literals, LIKE
// patterns, the segments of JSON paths and the cursor's values; the SQL text
// holds only what this file and the Dialect write (meta fields map to fixed
// column names, operators to fixed SQL operators).
//
// Three-valued logic: each test compiles to a condition that is TRUE or
// FALSE, never NULL (a missing field makes its tests FALSE through CASE …
// ELSE FALSE, or COALESCE), so AND, OR and NOT above them are plain boolean
// logic and NOT x = 1 holds where x is missing.
//
// Order and pages: each order field becomes one to three sort keys that are
// never NULL: for a data field, its type's rank, its number (0 unless a
// number) and its text (empty unless a string); for a time that may be null,
// whether it is set, and its value. _key ends the list, so the order is
// total, and the next page starts after the last row's keys, compared
// lexicographically (a keyset page). The cursor carries those keys.
func (q *queries) QueryRecords(ctx context.Context, orgID, instanceID, stream string, rq store.RecordQuery) ([]store.Record, string, error) {
	recs, next, err := q.queryRecords(ctx, orgID, instanceID, stream, rq)
	if err != nil {
		return nil, "", fmt.Errorf("store: query %s records: %w", stream, err)
	}
	return recs, next, nil
}

func (q *queries) queryRecords(ctx context.Context, orgID, instanceID, stream string, rq store.RecordQuery) ([]store.Record, string, error) {
	if err := query.Validate(rq.Where); err != nil {
		return nil, "", err
	}
	if err := query.ValidateOrder(rq.OrderBy); err != nil {
		return nil, "", err
	}
	c := compiler{j: &q.d.JSON}
	keys, err := c.sortKeys(rq.OrderBy)
	if err != nil {
		return nil, "", err
	}

	inner := sqlf(`SELECT ` + recordCols)
	for i, k := range keys {
		inner = sqlf(inner, ", ", k.expr, " AS k"+strconv.Itoa(i))
	}
	inner = sqlf(inner, ` FROM records WHERE org_id = ? AND instance_id = ? AND stream = ?`, args(orgID, instanceID, stream))
	if rq.TeamID != "" {
		inner = sqlf(inner, ` AND team_id = ?`, args(rq.TeamID))
	}
	if !rq.IncludeDeleted {
		inner = sqlf(inner, ` AND deleted_at IS NULL`)
	}
	if rq.Where != nil {
		where, err := c.expr(rq.Where)
		if err != nil {
			return nil, "", err
		}
		inner = sqlf(inner, " AND ", where)
	}

	outer := sqlf(`SELECT ` + recordCols)
	for i := range keys {
		outer = sqlf(outer, ", k"+strconv.Itoa(i))
	}
	outer = sqlf(outer, " FROM (", inner, ") AS page")
	if rq.Page.After != "" {
		after := []string{rq.Page.After}
		if len(rq.OrderBy) > 0 {
			if after, err = decodeCursor(rq.Page.After, rq.OrderBy, len(keys)); err != nil {
				return nil, "", err
			}
		}
		cond, err := c.keyset(keys, after)
		if err != nil {
			return nil, "", err
		}
		outer = sqlf(outer, " WHERE ", cond)
	}
	outer = sqlf(outer, " ORDER BY ")
	for i, k := range keys {
		if i > 0 {
			outer = sqlf(outer, ", ")
		}
		outer = sqlf(outer, c.ref(i, k))
		if k.desc {
			outer = sqlf(outer, " DESC")
		}
	}
	_, limit := pageArgs(rq.Page)
	outer = sqlf(outer, " LIMIT ?", args(limit))

	rows, err := collect(func(r scanner) (keyedRecord, error) {
		ks := keyScanner{r: r, keys: make([]string, len(keys))}
		rec, err := scanRecord(&ks)
		return keyedRecord{rec, ks.keys}, err
	})(q.query(ctx, outer.sql, outer.args...))
	if err != nil {
		return nil, "", err
	}
	rows, next := nextCursor(rows, rq.Page, func(r keyedRecord) string {
		if len(rq.OrderBy) == 0 {
			return r.rec.Key
		}
		return encodeCursor(rq.OrderBy, r.keys)
	})
	recs := make([]store.Record, len(rows))
	for i, r := range rows {
		recs[i] = r.rec
	}
	return recs, next, nil
}

// JSONDialect is how a database reads a value out of records.data, and
// compares and folds text, for QueryRecords. Its functions take a path's
// segments (names as package query allows them: [A-Za-z_][A-Za-z0-9_]*) and
// return SQL with "?" placeholders and the arguments they stand for.
type JSONDialect struct {
	// Is is a condition on the value at path: true where it is of type t,
	// false where it is of another type, NULL where there is no value.
	Is func(path []string, t JSONType) (string, []any)
	// Text is the value at path as text: a string's characters. It is read
	// only where Is(path, JSONString) holds.
	Text func(path []string) (string, []any)
	// Number is the value at path as an SQL number, to compare with Num. It
	// is read only where Is(path, JSONNumber) holds, under a CASE, for it
	// may fail on other values.
	Number func(path []string) (string, []any)
	// Has is a condition on the value at path: true where it is an array
	// with an element of type t (string, number, true or false) equal to
	// lit, which is a string's characters or a number's decimal text
	// (compared by value, as Num has it) and unused for true and false;
	// false anywhere else: missing, null, a scalar, an object, never NULL
	// and never an error. Elements that are arrays or objects match
	// nothing.
	Has func(path []string, t JSONType, lit string) (string, []any)
	// Num is the SQL of a number argument, bound as its decimal text.
	Num string
	// Bytewise follows a text expression to compare and sort it byte by
	// byte, whatever the database's collation.
	Bytewise string
	// FoldASCII lower-cases the ASCII letters of a text expression, and no
	// other letters.
	FoldASCII func(text string) string
}

// JSONType is a type of JSON value, as JSONDialect.Is tells them apart.
type JSONType string

// The JSON types; true and false are told apart.
const (
	JSONString JSONType = "string"
	JSONNumber JSONType = "number"
	JSONTrue   JSONType = "true"
	JSONFalse  JSONType = "false"
	JSONNull   JSONType = "null" // a JSON null, not a missing value
)

// frag is a piece of SQL and the arguments of its "?" placeholders, in order.
type frag struct {
	sql  string
	args []any
}

// sqlf joins strings and frags into one frag.
func sqlf(parts ...any) frag {
	var b strings.Builder
	var out frag
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b.WriteString(p)
		case frag:
			b.WriteString(p.sql)
			out.args = append(out.args, p.args...)
		default:
			panic(fmt.Sprintf("sqlf: a %T", p))
		}
	}
	out.sql = b.String()
	return out
}

// args is a frag of arguments alone, for the placeholders just before it.
func args(vs ...any) frag { return frag{args: vs} }

func fragOf(sql string, args []any) frag { return frag{sql, args} }

// compiler turns query ASTs into SQL for one dialect.
type compiler struct{ j *JSONDialect }

// metaColumn is the column a meta field names.
type metaColumn struct {
	col      string
	text     bool // TEXT; otherwise BIGINT milliseconds
	nullable bool
}

var metaColumns = map[string]metaColumn{
	query.MetaKey:             {col: "record_key", text: true},
	query.MetaTeamID:          {col: "team_id", text: true},
	query.MetaFirstSeenAt:     {col: "first_seen_at"},
	query.MetaLastSeenAt:      {col: "last_seen_at"},
	query.MetaSourceUpdatedAt: {col: "source_updated_at", nullable: true},
	query.MetaDeletedAt:       {col: "deleted_at", nullable: true},
}

func meta(f query.Field) (metaColumn, error) {
	if err := f.Validate(); err != nil {
		return metaColumn{}, err
	}
	m, ok := metaColumns[f.Path[0]]
	if !f.Meta || !ok {
		return metaColumn{}, fmt.Errorf("%s is not a meta field", f.Name())
	}
	return m, nil
}

// sqlOps are the SQL of query's operators.
var sqlOps = map[query.Op]string{query.Eq: "=", query.Ne: "<>", query.Lt: "<", query.Le: "<=", query.Gt: ">", query.Ge: ">="}

func (c compiler) is(f query.Field, t JSONType) frag { return fragOf(c.j.Is(f.Path, t)) }
func (c compiler) text(f query.Field) frag           { return fragOf(c.j.Text(f.Path)) }
func (c compiler) number(f query.Field) frag         { return fragOf(c.j.Number(f.Path)) }
func (c compiler) num(lit string) frag               { return frag{c.j.Num, []any{lit}} }

// isNull holds where f is missing or JSON null: Is gives NULL for missing.
func (c compiler) isNull(f query.Field) frag {
	if f.Meta {
		m, _ := meta(f)
		return sqlf(m.col + " IS NULL")
	}
	return sqlf("COALESCE(", c.is(f, JSONNull), ", TRUE)")
}

func (c compiler) expr(e query.Expr) (frag, error) {
	switch e := e.(type) {
	case *query.And:
		return c.join(e.Terms, " AND ")
	case *query.Or:
		return c.join(e.Terms, " OR ")
	case *query.Not:
		x, err := c.expr(e.X)
		return sqlf("NOT (", x, ")"), err
	case *query.Compare:
		return c.compare(e.Field, e.Op, e.Value)
	case *query.Like:
		l, err := c.like(e.Field, e.Pattern)
		return negate(e.Not, l), err
	case *query.In:
		in, err := c.in(e.Field, e.Values)
		return negate(e.Not, in), err
	case *query.Has:
		h, err := c.has(e.Field, e.Value)
		return negate(e.Not, h), err
	case *query.IsNull:
		return negate(e.Not, c.isNull(e.Field)), nil
	}
	return frag{}, fmt.Errorf("unknown expression %T", e)
}

func negate(not bool, f frag) frag {
	if not {
		return sqlf("NOT (", f, ")")
	}
	return f
}

// join joins terms with op in halves, parenthesised, so that a long chain
// nests log n deep rather than n (SQLite caps an expression at 1000 deep).
func (c compiler) join(terms []query.Expr, op string) (frag, error) {
	if len(terms) == 1 {
		return c.expr(terms[0])
	}
	l, err := c.join(terms[:len(terms)/2], op)
	if err != nil {
		return frag{}, err
	}
	r, err := c.join(terms[len(terms)/2:], op)
	return sqlf("(", l, op, r, ")"), err
}

// compare compiles f op v: false unless f holds a value of v's type.
func (c compiler) compare(f query.Field, op query.Op, v query.Value) (frag, error) {
	sqlOp, ok := sqlOps[op]
	if !ok {
		return frag{}, fmt.Errorf("unknown operator %q", string(op))
	}
	if v.Kind == query.KindNull {
		if op == query.Ne {
			return sqlf("NOT (", c.isNull(f), ")"), nil
		}
		return c.isNull(f), nil
	}
	if f.Meta {
		m, err := meta(f)
		if err != nil {
			return frag{}, err
		}
		var cmp frag
		switch {
		case m.text && v.Kind == query.KindString:
			cmp = sqlf(c.metaText(m), " "+sqlOp+" ?", args(v.Text))
		case !m.text && v.Kind == query.KindTime:
			cmp = sqlf(m.col+" "+sqlOp+" ?", args(v.Millis))
		default:
			return frag{}, fmt.Errorf("%s does not compare with %s", f.Name(), v)
		}
		if m.nullable {
			cmp = sqlf("COALESCE(", cmp, ", FALSE)")
		}
		return cmp, nil
	}
	switch v.Kind {
	case query.KindString:
		return sqlf("CASE WHEN ", c.is(f, JSONString), " THEN ", c.text(f), c.j.Bytewise+" "+sqlOp+" ?", args(v.Text), " ELSE FALSE END"), nil
	case query.KindNumber:
		return sqlf("CASE WHEN ", c.is(f, JSONNumber), " THEN ", c.number(f), " "+sqlOp+" ", c.num(v.Text), " ELSE FALSE END"), nil
	case query.KindBool:
		if op != query.Eq && op != query.Ne {
			return frag{}, fmt.Errorf("booleans compare only with = and !=")
		}
		// x != true holds where x is false: a boolean other than true.
		t := JSONFalse
		if v.Bool != (op == query.Ne) {
			t = JSONTrue
		}
		return sqlf("COALESCE(", c.is(f, t), ", FALSE)"), nil
	}
	return frag{}, fmt.Errorf("%s does not compare with %s", f.Name(), v)
}

// metaText is a text column, compared byte by byte. record_key is declared
// to compare so (COLLATE "C" on PostgreSQL), and left bare to keep its index.
func (c compiler) metaText(m metaColumn) string {
	if m.col == "record_key" {
		return m.col
	}
	return m.col + c.j.Bytewise
}

// like matches strings only. Both sides fold ASCII letters, and only them:
// the pattern here, the text in SQL. The backslash escapes, as the language
// has it.
func (c compiler) like(f query.Field, pattern string) (frag, error) {
	pat := args(foldASCII(pattern))
	if f.Meta {
		m, err := meta(f)
		if err != nil || !m.text {
			return frag{}, fmt.Errorf("LIKE does not match %s", f.Name())
		}
		return sqlf(c.j.FoldASCII(m.col)+` LIKE ?`, pat, ` ESCAPE '\'`), nil
	}
	text := c.text(f)
	return sqlf("CASE WHEN ", c.is(f, JSONString), " THEN ", fragOf(c.j.FoldASCII(text.sql), text.args), ` LIKE ?`, pat, ` ESCAPE '\' ELSE FALSE END`), nil
}

func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// in is f = v1 OR f = v2 …, written as one IN per type of value.
func (c compiler) in(f query.Field, vals []query.Value) (frag, error) {
	var strs, nums, times []query.Value
	var terms []frag
	seen := map[string]bool{}
	for _, v := range vals {
		switch v.Kind {
		case query.KindString:
			strs = append(strs, v)
		case query.KindNumber:
			nums = append(nums, v)
		case query.KindTime:
			times = append(times, v)
		default: // true, false, null: once each
			if !seen[v.String()] {
				seen[v.String()] = true
				t, err := c.compare(f, query.Eq, v)
				if err != nil {
					return frag{}, err
				}
				terms = append(terms, t)
			}
		}
	}
	list := func(vs []query.Value, one func(query.Value) frag) frag {
		parts := []any{"("}
		for i, v := range vs {
			if i > 0 {
				parts = append(parts, ", ")
			}
			parts = append(parts, one(v))
		}
		return sqlf(append(parts, ")")...)
	}
	text := func(v query.Value) frag { return frag{"?", []any{v.Text}} }
	if f.Meta {
		// Validate let only strings through for a text column, only times
		// for a time column.
		m, err := meta(f)
		if err != nil {
			return frag{}, err
		}
		if len(strs) > 0 {
			terms = append(terms, sqlf(c.metaText(m)+" IN ", list(strs, text)))
		}
		if len(times) > 0 {
			t := sqlf(m.col+" IN ", list(times, func(v query.Value) frag { return frag{"?", []any{v.Millis}} }))
			if m.nullable {
				t = sqlf("COALESCE(", t, ", FALSE)")
			}
			terms = append(terms, t)
		}
	} else {
		if len(strs) > 0 {
			terms = append(terms, sqlf("CASE WHEN ", c.is(f, JSONString), " THEN ", c.text(f), c.j.Bytewise+" IN ", list(strs, text), " ELSE FALSE END"))
		}
		if len(nums) > 0 {
			terms = append(terms, sqlf("CASE WHEN ", c.is(f, JSONNumber), " THEN ", c.number(f), " IN ", list(nums, func(v query.Value) frag { return c.num(v.Text) }), " ELSE FALSE END"))
		}
	}
	if len(terms) == 0 {
		return frag{}, fmt.Errorf("%s IN an empty list", f.Name())
	}
	out := terms[0]
	for _, t := range terms[1:] {
		out = sqlf(out, " OR ", t)
	}
	return sqlf("(", out, ")"), nil
}

// has holds where f is an array with an element equal to v, as = has it;
// false, never NULL, where f is missing or no array.
func (c compiler) has(f query.Field, v query.Value) (frag, error) {
	if f.Meta {
		return frag{}, fmt.Errorf("HAS does not look into %s", f.Name())
	}
	switch v.Kind {
	case query.KindString:
		return fragOf(c.j.Has(f.Path, JSONString, v.Text)), nil
	case query.KindNumber:
		return fragOf(c.j.Has(f.Path, JSONNumber, v.Text)), nil
	case query.KindBool:
		t := JSONFalse
		if v.Bool {
			t = JSONTrue
		}
		return fragOf(c.j.Has(f.Path, t, "")), nil
	}
	return frag{}, fmt.Errorf("HAS does not take %s", v)
}

// keyKind is how a sort key's cursor value is bound again.
type keyKind uint8

const (
	keyInt  keyKind = iota // an integer: a rank, or milliseconds
	keyNum                 // a JSON number, bound through Num
	keyText                // text, compared byte by byte
)

// sortKey is one column of the order.
type sortKey struct {
	expr frag
	kind keyKind
	desc bool
}

// sortKeys turns an order into sort keys, with _key last.
func (c compiler) sortKeys(order []query.Order) ([]sortKey, error) {
	var keys []sortKey
	byKey := false
	for _, o := range order {
		f, d := o.Field, o.Desc
		if f.Meta {
			m, err := meta(f)
			if err != nil {
				return nil, err
			}
			switch {
			case m.text:
				keys = append(keys, sortKey{sqlf(c.metaText(m)), keyText, d})
				byKey = byKey || m.col == "record_key"
			case m.nullable:
				keys = append(keys, sortKey{sqlf("CASE WHEN " + m.col + " IS NULL THEN 0 ELSE 1 END"), keyInt, d},
					sortKey{sqlf("COALESCE(" + m.col + ", 0)"), keyInt, d})
			default:
				keys = append(keys, sortKey{sqlf(m.col), keyInt, d})
			}
			continue
		}
		is := func(t JSONType) frag { return c.is(f, t) }
		// The type's rank: missing or null, false, true, number, string,
		// anything else (an object or an array).
		rank := sqlf("CASE WHEN ", c.isNull(f), " THEN 0 WHEN ", is(JSONFalse), " THEN 1 WHEN ", is(JSONTrue), " THEN 2 WHEN ",
			is(JSONNumber), " THEN 3 WHEN ", is(JSONString), " THEN 4 ELSE 5 END")
		keys = append(keys,
			sortKey{rank, keyInt, d},
			sortKey{sqlf("CASE WHEN ", is(JSONNumber), " THEN ", c.number(f), " ELSE 0 END"), keyNum, d},
			sortKey{sqlf("CASE WHEN ", is(JSONString), " THEN ", c.text(f), " ELSE '' END"+c.j.Bytewise), keyText, d})
	}
	if !byKey {
		keys = append(keys, sortKey{sqlf("record_key"), keyText, false})
	}
	return keys, nil
}

// ref is sort key i as the outer query sees it.
func (c compiler) ref(i int, k sortKey) string {
	if k.kind == keyText {
		return "k" + strconv.Itoa(i) + c.j.Bytewise
	}
	return "k" + strconv.Itoa(i)
}

// keyset holds for rows after the cursor's keys: the first key past its
// value, or equal and the rest after theirs.
func (c compiler) keyset(keys []sortKey, after []string) (frag, error) {
	var cond frag
	for i := len(keys) - 1; i >= 0; i-- {
		k := keys[i]
		var v frag
		switch k.kind {
		case keyInt:
			n, err := strconv.ParseInt(after[i], 10, 64)
			if err != nil {
				return frag{}, errBadCursor
			}
			v = frag{"?", []any{n}}
		case keyNum:
			if !isDecimal(after[i]) {
				return frag{}, errBadCursor
			}
			v = c.num(after[i])
		case keyText:
			v = frag{"?", []any{after[i]}}
		}
		op := " > "
		if k.desc {
			op = " < "
		}
		past := sqlf(c.ref(i, k)+op, v)
		if i == len(keys)-1 {
			cond = past
			continue
		}
		cond = sqlf("(", past, " OR (", c.ref(i, k)+" = ", v, " AND ", cond, "))")
	}
	return cond, nil
}

// isDecimal reports whether s is a number as the databases print one
// ("-12.5", "1e+20"): what a number sort key may hold.
func isDecimal(s string) bool {
	if s == "" || strings.Trim(s, "0123456789.eE+-") != "" {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

var errBadCursor = fmt.Errorf("%w: the cursor is not one this query returned (for this order_by)", query.ErrInvalid)

// An order cursor is the last row's sort keys, as text: a version byte, a
// hash of the order (so that a cursor of another order is refused), then
// each key as a uvarint length and its bytes; in unpadded base64url.
const cursorVersion = 1

func orderHash(order []query.Order) uint32 {
	h := fnv.New32a()
	for _, o := range order {
		h.Write([]byte(o.String() + ","))
	}
	return h.Sum32()
}

func encodeCursor(order []query.Order, keys []string) string {
	b := binary.BigEndian.AppendUint32([]byte{cursorVersion}, orderHash(order))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, order []query.Order, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 5 || b[0] != cursorVersion || binary.BigEndian.Uint32(b[1:5]) != orderHash(order) {
		return nil, errBadCursor
	}
	b = b[5:]
	var keys []string
	for len(b) > 0 {
		l, w := binary.Uvarint(b)
		if w <= 0 || l > uint64(len(b)-w) {
			return nil, errBadCursor
		}
		keys = append(keys, string(b[w:w+int(l)]))
		b = b[w+int(l):]
	}
	if len(keys) != n {
		return nil, errBadCursor
	}
	return keys, nil
}

// keyedRecord is a record with its sort keys.
type keyedRecord struct {
	rec  store.Record
	keys []string
}

// keyScanner scans a record's columns, then its sort keys into keys.
type keyScanner struct {
	r    scanner
	keys []string
}

func (s *keyScanner) Scan(dest ...any) error {
	for i := range s.keys {
		dest = append(dest, &s.keys[i])
	}
	return s.r.Scan(dest...)
}
