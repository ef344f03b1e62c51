package slacksim

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/slacksim/scimfilter"
)

// decodeObject reads a POST or PUT body: a JSON object with schemas.
func (c *scimCall) decodeObject() (map[string]json.RawMessage, *scimError) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &obj); err != nil || obj == nil {
		return nil, scimBad("invalid_request_payload", "the body is not a JSON object")
	}
	if raw, ok := scimLookup(obj, "schemas"); !ok || !scimNonEmptyArray(raw) {
		return nil, scimBad("missing_schema_element", "the body has no schemas")
	}
	return obj, nil
}

func scimNonEmptyArray(raw json.RawMessage) bool {
	var a []json.RawMessage
	return json.Unmarshal(raw, &a) == nil && len(a) > 0
}

func scimLookup(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// scimPatchOp is one operation of a PatchOp body.
type scimPatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// decodePatch reads a PatchOp body; ops are lower-cased and checked.
func (c *scimCall) decodePatch() ([]scimPatchOp, *scimError) {
	var body struct {
		Schemas    json.RawMessage `json:"schemas"`
		Operations []scimPatchOp   `json:"Operations"`
	}
	if err := json.Unmarshal(c.body, &body); err != nil || len(c.body) == 0 || strings.TrimSpace(string(c.body)) == "null" {
		return nil, scimBad("invalid_request_payload", "the body is not a PatchOp JSON object")
	}
	if !scimNonEmptyArray(body.Schemas) {
		return nil, scimBad("missing_schema_element", "the body has no schemas")
	}
	if len(body.Operations) == 0 {
		return nil, scimBad("invalid_request_payload", "a PatchOp needs Operations")
	}
	for i := range body.Operations {
		op := &body.Operations[i]
		op.Op = strings.ToLower(strings.TrimSpace(op.Op))
		switch op.Op {
		case "add", "replace", "remove":
		default:
			return nil, scimBad("invalid_request_payload", "unknown PATCH op "+strconv.Quote(op.Op))
		}
		op.Path = strings.TrimSpace(op.Path)
		if op.Path == "" && op.Op == "remove" {
			return nil, scimBad("invalid_request_payload", "remove needs a path")
		}
		if op.Op != "remove" && (len(op.Value) == 0 || (op.Path == "" && string(op.Value) == "null")) {
			return nil, scimBad("invalid_request_payload", op.Op+" needs a value")
		}
	}
	return body.Operations, nil
}

// scimLower lower-cases ASCII letters only, keeping every byte where it was.
func scimLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// scimPath is a PATCH path: attr[filter].sub, or a schema URN and a
// sub-attribute. attr and sub are lower-cased.
type scimPath struct {
	attr   string
	filter scimfilter.Filter
	sub    string
}

// scimElemAttrs are the sub-attributes a value filter in a path may name.
var scimElemAttrs = map[string]map[string]bool{
	"emails":       {"value": true, "type": true, "primary": true, "display": true},
	"phonenumbers": {"value": true, "type": true, "primary": true, "display": true},
	"roles":        {"value": true, "type": true, "primary": true, "display": true},
	"members":      {"value": true, "display": true, "type": true, "$ref": true},
}

func parseSCIMPath(path string, urns []string) (scimPath, *scimError) {
	low := scimLower(path) // byte for byte, so indexes into low fit path
	for _, urn := range urns {
		if low == urn {
			return scimPath{attr: urn}, nil
		}
		if strings.HasPrefix(low, urn) && (low[len(urn)] == ':' || low[len(urn)] == '.') {
			if urn == strings.ToLower(scimCoreUser) || urn == strings.ToLower(scimCoreGroup) {
				path, low = path[len(urn)+1:], low[len(urn)+1:]
				break
			}
			return scimPath{attr: urn, sub: low[len(urn)+1:]}, nil
		}
	}
	bad := scimBad("invalid_request_payload", "cannot read the path "+strconv.Quote(path))
	i := strings.IndexByte(path, '[')
	if i < 0 {
		attr, sub, _ := strings.Cut(low, ".")
		if attr == "" {
			return scimPath{}, bad
		}
		return scimPath{attr: attr, sub: sub}, nil
	}
	j := strings.LastIndexByte(path, ']')
	if j < i || i == 0 {
		return scimPath{}, bad
	}
	p := scimPath{attr: low[:i]}
	inner := scimElemAttrs[p.attr]
	if inner == nil {
		return scimPath{}, bad
	}
	f, e := scimParseFilter(path[i+1:j], func(a string) bool { return inner[a] })
	if e != nil {
		return scimPath{}, e
	}
	p.filter = f
	if rest := low[j+1:]; rest != "" {
		if rest[0] != '.' || len(rest) == 1 {
			return scimPath{}, bad
		}
		p.sub = rest[1:]
	}
	return p, nil
}

// scimParseTime reads the ISO 8601 forms SCIM clients send.
func scimParseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, scimStartDateForm, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// scimString reads a JSON string; null reads as "".
func scimString(raw json.RawMessage) (string, bool) {
	if strings.TrimSpace(string(raw)) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// scimBool reads true and false as JSON booleans or as strings ("True", as
// Azure AD sends them).
type scimBool bool

func (b *scimBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		*b = false
	case bool:
		*b = scimBool(x)
	case string:
		parsed, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return err
		}
		*b = scimBool(parsed)
	default:
		return errors.New("not a boolean")
	}
	return nil
}
