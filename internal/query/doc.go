// Package query is the small filter language of the records API, the where,
// order_by and fields parameters of
//
//	GET /v1/instances/{id}/records/{stream}?where=…&order_by=…&fields=…
//
// modelled on SAP Open Connectors' CEQL. It parses them into an AST (Expr,
// Order, Field) and owns what they mean; the store compiles the AST into
// parameterised SQL for SQLite and PostgreSQL (internal/store/sqlstore,
// query.go), binding every literal and every path segment as a parameter.
// The package imports nothing of connhub's.
//
// # Grammar
//
//	where    = or
//	or       = and { "OR" and }
//	and      = not { "AND" not }
//	not      = "NOT" not | "(" or ")" | test
//	test     = field cmp value
//	         | field [ "NOT" ] "LIKE" string
//	         | field [ "NOT" ] "IN" "(" value { "," value } ")"
//	         | field [ "NOT" ] "HAS" value
//	         | field "IS" [ "NOT" ] "NULL"
//	cmp      = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	value    = string | number | "true" | "false" | "null"
//	field    = name { "." name }             no spaces around the dots
//	name     = [A-Za-z_][A-Za-z0-9_]*
//	string   = "'" { any character but "'", or "''" for a quote } "'"
//	number   = [ "-" ] digit { digit } [ "." digit { digit } ]
//
//	order_by = field [ "ASC" | "DESC" ] { "," field [ "ASC" | "DESC" ] }
//	fields   = field { "," field }
//
// Keywords are case-insensitive; NOT binds tighter than AND, and AND tighter
// than OR. A one-segment field cannot be a keyword ("in", "has", "null"…),
// though a later segment can ("settings.in"). "<>" is "!=". Numbers have no exponent.
// The input is UTF-8 without NUL characters. Blank input is no constraint:
// Parse returns a nil Expr (every record), ParseOrder and ParseFields nil.
//
// A field is a dot path into the record's JSON data ("profile.email"), or, if
// it begins with an underscore, a meta field: a column of the record.
//
//	_key                the record's natural key            string
//	_team_id            its workspace                       string
//	_first_seen_at      when a sync first stored it         time
//	_last_seen_at       when a sync last saw it             time
//	_source_updated_at  the object's own "updated"          time, may be null
//	_deleted_at         when it vanished from Slack         time, may be null
//
// A meta field is one segment, so a top-level data key beginning with an
// underscore cannot be named (a nested one can: "profile._x"). A time
// compares with a string in RFC 3339 ("2024-01-31T12:00:00Z", fractions and
// offsets allowed) or a date ("2024-01-31", UTC midnight), read to the
// millisecond; a meta field compared with a literal of another type is an
// error, as are a bad time, LIKE on a time, "<" with a boolean or null, and
// HAS with null or on a meta field (none is an array).
//
// Limits, each an error rather than a panic: the input is at most 4096 bytes,
// parentheses and NOTs nest at most 32 deep, a path has at most 32 segments,
// an IN list at most 1000 values, an order_by at most 8 fields. Errors are
// *SyntaxError, whose Pos is the 1-based character (not byte) column, and
// match ErrInvalid, as do Validate's for an Expr built by hand.
//
// # Semantics
//
// Every test is true or false for every record: SQL's NULL never leaks, so
// NOT, NOT IN, NOT LIKE and NOT HAS are exact complements ("NOT x = 1" holds where x is
// missing, null, "1" or 2: none of those records has x = 1).
//
//   - Values are typed as in JSON. A string compares with strings, a number
//     with numbers, a boolean with booleans; a comparison between different
//     types is false, whatever the operator, "!=" included: x != 'a' holds
//     where x is a string other than 'a', and not where x is 5, null or
//     missing (write NOT x = 'a' for "anything but 'a'").
//   - A missing field is null. x IS NULL holds where x is missing or JSON
//     null; x = null is x IS NULL and x != null is x IS NOT NULL. Only = and
//     != take null.
//   - Strings compare byte by byte (their UTF-8 bytes, so code point order),
//     not in any locale's collation. Numbers compare by value (data's 1, 1.0
//     and 1e0 all equal the literal 1); SQLite reads decimals as 64-bit floats where PostgreSQL reads
//     them exactly, so the backends agree on 64-bit integers and on decimals
//     of up to 15 significant digits.
//     Booleans take only = and !=.
//   - LIKE matches strings only (it is false for any other value): "%" is any
//     run of characters, "_" one character, and a backslash makes the next
//     "%", "_" or "\" literal (a backslash before anything else is an
//     error). It ignores the case of ASCII letters, and only theirs: 'ÉMILE'
//     LIKE 'émile' is false, 'Émile' LIKE 'émile' too, 'Émile' LIKE 'É%' and
//     LIKE '_MILE' true, on both backends.
//   - x IN (a, b, …) is x = a OR x = b OR …; the list may mix types, and
//     null in it matches a missing or null x.
//   - x HAS v holds where x is an array with an element that equals v as
//     x = v would: a string only a string element, byte by byte; a number
//     only a number element, by value (1 matches 1, 1.0 and 1e0); true and
//     false only themselves. Elements that are arrays or objects match
//     nothing, nor does anything but an array: HAS is false where x is
//     missing, null, a string, or an object, even one with v among its
//     values. x NOT HAS v is NOT x HAS v: it holds there too. The
//     channel_members stream keeps a channel's members as an array,
//     so user_ids HAS 'U123' finds the channels of user U123.
//   - Objects and arrays take no comparison: every comparison, LIKE and IN
//     with them is false (HAS looks into arrays); IS NULL and IS NOT NULL
//     see them as present.
//
// # Types
//
// ParseFor checks a where against a Schema, the types of a stream's top-level
// fields (string, number, boolean, object, array; a field not named varies and
// is not checked). A test that could never hold because of a type is an
// error at the value or operator at fault, not an empty answer: a string
// compared with a number or boolean field ("billable = 'true'",
// "days_inactive > '30'"), a number or boolean with a string field, any
// comparison with an object or array field, LIKE on a field that is not a
// string, HAS on one that is not an array, and a path below a string, number
// or boolean ("name.first"). Null compares with any field.
//
// # Order
//
// order_by sorts by each field in turn, ascending unless DESC, then by _key,
// so the order is total. Values of a data field sort by type, then by value:
//
//	missing or null < false < true < numbers < strings < objects and arrays
//
// numbers by value, strings byte by byte, objects and arrays all alike; DESC
// reverses all of it (nulls last), though the _key that breaks ties stays
// ascending. A null meta time sorts first ascending, last descending.
//
// # Fields
//
// fields lists the fields a response should carry, in the field grammar,
// each once. Fields(expr) lists the fields an expression names, so that a
// caller can check them against a stream's schema.
package query
