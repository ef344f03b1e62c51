// Package apierror writes connhub's API errors: JSON with a stable machine
// code and a human message, the one shape every HTTP handler answers errors
// in. Internals are logged by the caller, never put in the message.
package apierror

import (
	"encoding/json"
	"net/http"
)

// Error is the body of every API error.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Write answers an error with status, a stable code and a human message.
func Write(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Error{Code: code, Message: message})
}

// Problem is an error that knows how the API answers it: a status, a stable
// code and a message fit for the caller. Services return Problems for what the
// caller did wrong or must do; anything else is answered as internal_error and
// logged.
type Problem struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when not empty, is the answer's Retry-After header (in
	// seconds): when to try again, for a 429 or a 503.
	RetryAfter string
}

// WriteProblem answers p as Write does, with its Retry-After if it has one.
func WriteProblem(w http.ResponseWriter, p *Problem) {
	if p.RetryAfter != "" {
		w.Header().Set("Retry-After", p.RetryAfter)
	}
	Write(w, p.Status, p.Code, p.Message)
}

func (p *Problem) Error() string { return p.Code + ": " + p.Message }

// New makes a Problem.
func New(status int, code, message string) *Problem {
	return &Problem{Status: status, Code: code, Message: message}
}
