package scim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxAttributes bounds the attributes an audit event names; clipAt the
// length of each name and of a filter.
const (
	maxAttributes = 50
	clipAt        = 200
)

// WriteDetails says what a SCIM write changes, for the audit log: the
// attributes it sets (a POST or PUT: the body's; a PATCH: each operation
// and its path, or the attributes of its value), never their values; and,
// for a create, the userName or displayName that names the new resource
// (its ID is Slack's to give). A body that is not JSON is said to be so.
func WriteDetails(verb string, body []byte) map[string]any {
	d := map[string]any{}
	if verb == http.MethodDelete {
		return d
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		d["body"] = "not a JSON object"
		return d
	}
	var attrs []string
	switch verb {
	case http.MethodPatch:
		var ops []struct {
			Op    string          `json:"op"`
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		}
		json.Unmarshal(obj["Operations"], &ops)
		for _, op := range ops {
			if op.Path != "" {
				attrs = append(attrs, strings.ToLower(op.Op)+" "+clip(op.Path))
				continue
			}
			for _, k := range keys(op.Value) {
				attrs = append(attrs, strings.ToLower(op.Op)+" "+k)
			}
		}
	default:
		attrs = keys(body)
		if verb == http.MethodPost {
			for _, k := range []string{"userName", "displayName"} {
				var v string
				if json.Unmarshal(obj[k], &v) == nil && v != "" {
					d[strings.ToLower(k[:1])+k[1:]] = clip(v)
					break
				}
			}
		}
	}
	if len(attrs) > maxAttributes {
		attrs = append(attrs[:maxAttributes], "…")
	}
	d["attributes"] = attrs
	return d
}

// keys are the attribute names of a JSON object, sorted, less those that
// name no attribute (schemas, id, meta).
func keys(raw json.RawMessage) []string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	out := make([]string, 0, len(obj))
	for k := range obj {
		switch k {
		case "schemas", "id", "meta":
			continue
		}
		out = append(out, clip(k))
	}
	slices.Sort(out)
	return out
}

// clip shortens s to clipAt bytes, on a character boundary.
func clip(s string) string {
	if len(s) <= clipAt {
		return s
	}
	cut := clipAt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
