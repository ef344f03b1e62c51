// Package scimfilter is the filter language of SCIM 2.0 (RFC 7644 section
// 3.4.2.2) as Slack's SCIM API reads it: the sandbox's GET /Users and GET
// /Groups filters and the value filters of PATCH paths (emails[type eq
// "work"]).
//
// Parse turns a filter into a Filter; Match runs it over a Record, which the
// caller implements for its resources. A Syntax says which attributes exist
// and which operators a filter may use (a service may allow fewer than the
// RFC's). Attribute names reach the Record
// lower-cased, with a leading core schema URN
// (urn:ietf:params:scim:schemas:core:2.0:User: or …:Group:) taken off, and
// sub-attributes joined by a dot ("name.givenname", "emails.value").
//
// The grammar: comparisons attr op value with the operators eq, ne, co, sw,
// ew, gt, ge, lt, le, and attr pr; and, or (and binds tighter), not (…),
// parentheses, and value paths attr[filter] whose inner filter reads the
// attribute's elements. Operators and keywords ignore case. A value is a
// string in double quotes (JSON escapes) or single quotes, true, false, null,
// a number, or a bare word: Slack's own examples leave IDs unquoted
// (members[value eq U123ABC456]), so a bare word is a string.
//
// Matching: string comparisons ignore case (Slack's attributes are not
// case-exact); a multi-valued attribute matches when any value does; ne
// matches when no value equals; pr when some value is neither null nor empty;
// eq null when the attribute has no value. A boolean compares equal to true,
// false or their spelling as a string; a string compares with a number by the
// number's shortest spelling.
//
// A filter that does not parse is an *Error whose Code is one of Slack's SCIM
// error codes: no_filters (empty), invalid_query (an unknown attribute or
// operator, a value that is not one, text after a whole filter),
// invalid_filter_group (a bracket not closed or not opened) or
// incomplete_filter (the filter ends where more must follow).
//
// The package knows nothing of the sandbox: it imports only the standard
// library.
package scimfilter
