package slacksim

import (
	"encoding/base64"
	"strings"
)

// Cursors are opaque to clients but, like Slack's, they are base64 of
// "<kind>:<key>": "dXNlcjpVMEc5V0ZYTlo=" is "user:U0G9WFXNZ". The key is the
// first record of the next page, so a page resumes where the last one ended
// even when records were added in between (keyset pagination).

func encodeCursor(kind, key string) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + ":" + key))
}

func decodeCursor(kind, cursor string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(cursor)
	if err != nil {
		return "", false
	}
	k, key, ok := strings.Cut(string(raw), ":")
	if !ok || k != kind || key == "" {
		return "", false
	}
	return key, true
}

// limitArg reads the "limit" argument: def when absent or 0, capped at the
// method's largest page (slackspec's MaxPage). A malformed or negative limit is invalid_limit where the method documents
// that code and invalid_arguments elsewhere.
func (c *call) limitArg(def int) (int, *reply) {
	n, err := intArg(c.arg("limit"), def)
	if err != nil || n < 0 {
		if c.spec.HasError("invalid_limit") {
			return 0, errReply("invalid_limit")
		}
		return 0, invalidArguments("limit must be a positive integer")
	}
	if n == 0 {
		n = def
	}
	return min(n, c.spec.MaxPage), nil
}

// lookahead bounds how far a filtered walk scans past a full page for the next
// kept record. Past it the next cursor points at an unscanned record and the
// next page may come back short, even empty, as Slack's do.
const lookahead = 2000

// keysetPage walks xs (sorted by key) from the cursor, keeping up to limit
// records that keep accepts. It returns them and the next cursor, "" at the end.
func keysetPage[T any](c *call, xs []T, kind string, key func(T) string, limit int, keep func(T) bool) ([]T, string, *reply) {
	start := 0
	if cur := c.arg("cursor"); cur != "" {
		k, ok := decodeCursor(kind, cur)
		if !ok {
			return nil, "", errReply("invalid_cursor")
		}
		start = searchKey(xs, k, key)
	}
	var out []T
	i := start
	for ; i < len(xs) && len(out) < limit; i++ {
		if keep == nil || keep(xs[i]) {
			out = append(out, xs[i])
		}
	}
	for scanned := 0; i < len(xs) && scanned < lookahead; i, scanned = i+1, scanned+1 {
		if keep == nil || keep(xs[i]) {
			return out, encodeCursor(kind, key(xs[i])), nil
		}
	}
	if i < len(xs) {
		return out, encodeCursor(kind, key(xs[i])), nil
	}
	return out, "", nil
}

// searchKey is the index of the first element whose key is not less than k.
func searchKey[T any](xs []T, k string, key func(T) string) int {
	lo, hi := 0, len(xs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if key(xs[m]) < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// classicPage reads count and page (Slack's older paging) and returns the slice
// bounds and the "paging" object.
type paging struct {
	Count int `json:"count"`
	Total int `json:"total"`
	Page  int `json:"page"`
	Pages int `json:"pages"`
}

func (c *call) classicPage(total, defCount, maxPage int) (lo, hi int, p paging, rep *reply) {
	count, err := intArg(c.arg("count"), defCount)
	if err != nil || count < 1 {
		return 0, 0, p, invalidArguments("count must be a positive integer")
	}
	page, err := intArg(c.arg("page"), 1)
	if err != nil || page < 1 {
		return 0, 0, p, invalidArguments("page must be a positive integer")
	}
	count = min(count, c.spec.MaxPage)
	if maxPage > 0 && page > maxPage {
		if c.spec.HasError("over_pagination_limit") {
			return 0, 0, p, errReply("over_pagination_limit")
		}
		page = maxPage
	}
	pages := max((total+count-1)/count, 1)
	lo = min((page-1)*count, total)
	hi = min(lo+count, total)
	return lo, hi, paging{Count: count, Total: total, Page: page, Pages: pages}, nil
}

// listPage pages a list of n records the two ways Slack's older list methods
// page (team.accessLogs, files.list): by count and page, answered with a
// "paging" object, or by cursor and limit. Classic paging is chosen only when
// count or page is given; either way the answer carries
// response_metadata.next_cursor naming the record after the page, so a client
// that walks cursors from a bare first call (slack-go's GetAccessLogs) sees
// every record. key names record i for the cursor.
func (c *call) listPage(n int, kind string, key func(i int) string, maxPage int) (lo, hi int, p *paging, next string, rep *reply) {
	if c.arg("count") != "" || c.arg("page") != "" {
		if c.arg("cursor") == "" && c.arg("limit") == "" {
			lo, hi, pg, rep := c.classicPage(n, 100, maxPage)
			if rep != nil {
				return 0, 0, nil, "", rep
			}
			if hi < n {
				next = encodeCursor(kind, key(hi))
			}
			return lo, hi, &pg, next, nil
		}
	}
	limit, rep := c.limitArg(100)
	if rep != nil {
		return 0, 0, nil, "", rep
	}
	if cur := c.arg("cursor"); cur != "" {
		k, ok := decodeCursor(kind, cur)
		if !ok {
			return 0, 0, nil, "", errReply("invalid_cursor")
		}
		lo = -1
		for i := range n {
			if key(i) == k {
				lo = i
				break
			}
		}
		if lo < 0 {
			return 0, 0, nil, "", errReply("invalid_cursor")
		}
	}
	hi = min(lo+limit, n)
	if hi < n {
		next = encodeCursor(kind, key(hi))
	}
	return lo, hi, nil, next, nil
}
