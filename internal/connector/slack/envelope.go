package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// Envelope is what a Web API answer says of itself: {"ok":…,"error":…,
// "needed":…,"provided":…}. File is set for an answer that is a file
// (admin.analytics.getFile's gzip): such methods answer errors as JSON and
// their file as anything else.
type Envelope struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Needed   string `json:"needed"`
	Provided string `json:"provided"`
	File     bool   `json:"-"`
}

var okPrefix = []byte(`{"ok":true,`)

// ParseEnvelope reads Slack's envelope from an answer's headers and body. It
// is the one reader of the envelope in connhub (the install client, the
// sync's calls and the proxy's look for token_expired all use it). An answer
// that is not the envelope (HTML from a 5xx, a truncated body, JSON without
// "ok") is an error wrapping ErrBadResponse, which never quotes the body. A
// missing Content-Type is given the benefit of the doubt.
func ParseEnvelope(h http.Header, body []byte) (Envelope, error) {
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err == nil && (mt == "application/gzip" || mt == "application/octet-stream"):
			return Envelope{OK: true, File: true}, nil
		case err != nil || mt != "application/json":
			return Envelope{}, fmt.Errorf("the answer is %q: %w", strings.Split(ct, ";")[0], ErrBadResponse)
		}
	}
	// Slack writes "ok" first. A success so written needs only to be valid
	// JSON: its other fields say nothing of the envelope, and decoding a
	// page of a few megabytes to find that out would read it twice.
	if bytes.HasPrefix(body, okPrefix) && json.Valid(body) {
		return Envelope{OK: true}, nil
	}
	var env struct {
		Envelope
		OK *bool `json:"ok"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Envelope{}, fmt.Errorf("the answer does not decode: %w", ErrBadResponse)
	}
	if env.OK == nil {
		return Envelope{}, fmt.Errorf(`the answer has no "ok": %w`, ErrBadResponse)
	}
	env.Envelope.OK = *env.OK
	return env.Envelope, nil
}

// NewAPIError is the *APIError for an answer of method that is not success:
// Slack's ok:false (status 200, env from ParseEnvelope), or another HTTP
// status, with env's code when the body was Slack's JSON. A 429's RetryAfter
// is the caller's to set. Codes and scopes that do not look like Slack's are
// not passed on (the body is not trusted to be free of secrets).
func NewAPIError(method string, status int, env Envelope) *APIError {
	code := env.Error
	if status == http.StatusOK && strings.TrimSpace(code) == "" {
		code = "unknown_error"
	}
	if status == http.StatusTooManyRequests && code == "" {
		code = "ratelimited"
	}
	return newAPIError(method, code, status).withScopes(env.Needed, env.Provided)
}
