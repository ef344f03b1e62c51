package slacksim

import (
	"errors"
	"iter"
	"net/http"
	"strconv"
	"strings"

	"github.com/connhub/connhub/internal/slacksim/scimfilter"
)

// scimList is a ListResponse (RFC 7644 section 3.4.2).
type scimList struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	ItemsPerPage int      `json:"itemsPerPage"`
	StartIndex   int      `json:"startIndex"`
	Resources    []any    `json:"Resources"`
}

func scimListOf(items []any) *scimReply {
	return &scimReply{status: http.StatusOK, body: scimList{Schemas: []string{scimListResponse}, TotalResults: len(items),
		ItemsPerPage: len(items), StartIndex: 1, Resources: items}}
}

// paging reads startIndex and count as RFC 7644 says: startIndex below 1 is 1,
// a negative count is 0; count defaults to 10 and Slack caps it at 1000.
// Values that are not integers take the defaults.
func (c *scimCall) paging() (start, count int) {
	q := c.r.URL.Query()
	start, count = 1, scimDefaultCount
	if v, err := strconv.Atoi(strings.TrimSpace(q.Get("startIndex"))); err == nil {
		start = max(v, 1)
	}
	if v, err := strconv.Atoi(strings.TrimSpace(q.Get("count"))); err == nil {
		count = min(max(v, 0), scimMaxCount)
	}
	return start, count
}

// filter parses the filter parameter, or returns nil when there is none.
func (c *scimCall) filter(allowed map[string]bool) (scimfilter.Filter, *scimError) {
	q := c.r.URL.Query()
	if !q.Has("filter") {
		return nil, nil
	}
	return scimParseFilter(q.Get("filter"), func(a string) bool { return allowed[a] })
}

// page runs the filter over every resource and keeps the requested page.
func scimPage[T any](c *scimCall, all iter.Seq[T], f scimfilter.Filter, rec func(T) scimfilter.Record, render func(T) any) *scimReply {
	start, count := c.paging()
	out := scimList{Schemas: []string{scimListResponse}, StartIndex: start, Resources: []any{}}
	for x := range all {
		if f != nil && !f.Match(rec(x)) {
			continue
		}
		out.TotalResults++
		if out.TotalResults >= start && len(out.Resources) < count {
			out.Resources = append(out.Resources, render(x))
		}
	}
	out.ItemsPerPage = len(out.Resources)
	return &scimReply{status: http.StatusOK, body: out}
}

// scimOperators are the filter operators Slack's SCIM reference lists as
// valid (with and, or and parentheses). RFC 7644's ne, ew and not are not
// among them: the sandbox answers them 400 invalid_query, so that a filter
// that works here works at Slack.
var scimOperators = []string{"eq", "co", "sw", "pr", "gt", "ge", "lt", "le"}

// scimParseFilter parses a filter; known says which lower-cased attribute
// paths exist. A filter that does not parse is a 400 with its code.
func scimParseFilter(s string, known func(string) bool) (scimfilter.Filter, *scimError) {
	f, err := scimfilter.Parse(s, scimfilter.Syntax{Known: known, Operators: scimOperators})
	if err != nil {
		var fe *scimfilter.Error
		if errors.As(err, &fe) {
			return nil, scimBad(fe.Code, fe.Detail)
		}
		return nil, scimBad(scimfilter.CodeInvalidQuery, err.Error())
	}
	return f, nil
}
