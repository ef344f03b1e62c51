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
