package slacksim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxBody bounds a Web API request body. Slack's own limit is not documented;
// files.upload is not emulated, so every legitimate body is small.
const maxBody = 8 << 20

// apiRequest is a Web API call as Slack reads it: the method from the path,
// arguments merged from the query string and the body (the body wins), and the
// token from the Authorization header, the form body or the query, in that order.
type apiRequest struct {
	method    string
	args      map[string]string
	token     string
	tokenFrom string // "header", "body", "query" or ""
	basicID   string // client credentials from HTTP Basic auth, for oauth.v2.*
	basicPass string
	hasBasic  bool
	json      bool
	warnings  []string
	bodyToken string // a token in a form body; JSON bodies cannot carry one
}

// wireError is Slack's answer to a request it cannot read.
type wireError struct {
	code   string
	status int
	detail string // for response_metadata.messages
}

func (e *wireError) Error() string { return e.code }

func badRequest(code, detail string) *wireError {
	return &wireError{code: code, status: http.StatusOK, detail: detail}
}

// parseAPIRequest reads r the way Slack's Web API does. Every failure is one of
// Slack's own error codes; nothing here panics on hostile input (see the fuzz
// test).
func parseAPIRequest(r *http.Request, method string) (*apiRequest, *wireError) {
	req := &apiRequest{method: method, args: map[string]string{}}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("invalid_form_data", "the query string is not valid URL encoding")
	}
	if err := addArgs(req.args, query); err != nil {
		return nil, err
	}
	queryToken := query.Get("token")

	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return nil, badRequest("invalid_form_data", "the request body could not be read")
		}
		if len(body) > maxBody {
			return nil, &wireError{code: "request_too_large", status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the body is larger than %d bytes", maxBody)}
		}
		if len(body) > 0 {
			if werr := req.parseBody(r.Header.Get("Content-Type"), body); werr != nil {
				return nil, werr
			}
		}
	}

	if id, pass, ok := r.BasicAuth(); ok {
		req.basicID, req.basicPass, req.hasBasic = id, pass, true
	}
	switch auth := r.Header.Get("Authorization"); {
	case len(auth) > 7 && strings.EqualFold(auth[:7], "bearer "):
		req.token, req.tokenFrom = strings.TrimSpace(auth[7:]), "header"
	case req.bodyToken != "":
		req.token, req.tokenFrom = req.bodyToken, "body"
	case queryToken != "":
		req.token, req.tokenFrom = queryToken, "query"
	}
	delete(req.args, "token")
	return req, nil
}

func (req *apiRequest) parseBody(contentType string, body []byte) *wireError {
	if strings.TrimSpace(contentType) == "" {
		return badRequest("missing_post_type", "the request has a body but no Content-Type")
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return badRequest("invalid_post_type", "the Content-Type header cannot be parsed")
	}
	if cs, ok := params["charset"]; ok {
		switch strings.ToLower(cs) {
		case "utf-8", "utf8", "iso-8859-1":
		default:
			return badRequest("invalid_charset", "valid charsets are utf-8 and iso-8859-1")
		}
	}
	switch mediaType {
	case "application/x-www-form-urlencoded", "text/plain":
		if _, ok := params["charset"]; ok && mediaType == "application/x-www-form-urlencoded" {
			req.warnings = append(req.warnings, "superfluous_charset")
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return badRequest("invalid_form_data", "the form body is not valid URL encoding")
		}
		req.bodyToken = form.Get("token")
		return addArgs(req.args, form)
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return badRequest("invalid_form_data", "the multipart body has no boundary")
		}
		form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(maxBody)
		if err != nil {
			return badRequest("invalid_form_data", "the multipart body cannot be read")
		}
		defer form.RemoveAll()
		if vs := form.Value["token"]; len(vs) > 0 {
			req.bodyToken = vs[0]
		}
		return addArgs(req.args, form.Value)
	case "application/json":
		req.json = true
		if _, ok := params["charset"]; !ok {
			req.warnings = append(req.warnings, "missing_charset")
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
			return badRequest("invalid_json", "the body is not a JSON object")
		}
		for k, raw := range obj {
			if werr := checkArgName(k); werr != nil {
				return werr
			}
			req.args[k] = jsonArg(raw)
		}
		return nil
	}
	return badRequest("invalid_post_type", "valid types are application/x-www-form-urlencoded, multipart/form-data, text/plain and application/json")
}

// jsonArg turns a JSON value into the string form Slack's form arguments take:
// strings unquoted, numbers and booleans as written, arrays and objects as JSON.
func jsonArg(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

func addArgs(dst map[string]string, src url.Values) *wireError {
	for k, vs := range src {
		if werr := checkArgName(k); werr != nil {
			return werr
		}
		if len(vs) > 0 {
			dst[k] = vs[0]
		}
	}
	return nil
}

// checkArgName rejects the argument names Slack rejects: PHP-style arrays
// ("foo[7]") and names that are not letters, digits and underscores.
func checkArgName(k string) *wireError {
	if strings.ContainsAny(k, "[]") {
		return badRequest("invalid_array_arg", "argument "+strconv.Quote(k)+" is a PHP-style array")
	}
	if k == "" || len(k) > 64 {
		return badRequest("invalid_arg_name", "argument names are 1 to 64 characters")
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return badRequest("invalid_arg_name", "argument "+strconv.Quote(k)+" has a character other than letters, digits and _")
		}
	}
	return nil
}

// boolArg reads a Slack boolean: "true" or "1" are true, anything else false.
func boolArg(s string) bool { return s == "true" || s == "1" }

var errNotInt = errors.New("not an integer")

// intArg reads a whole number; "" gives def.
func intArg(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errNotInt
	}
	return n, nil
}

// parseTS reads a message timestamp ("1512085950.000216", or whole or
// fractional seconds) as microseconds.
func parseTS(s string) (int64, bool) {
	sec, frac, _ := strings.Cut(s, ".")
	if sec == "" || len(sec) > 12 || len(frac) > 6 {
		return 0, false
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	var f int64
	if frac != "" {
		f, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil || f < 0 {
			return 0, false
		}
	}
	return n*1e6 + f, true
}
