package slacksim

import "net/http"

// scimHandler serves SCIM v2. It is being built; until then every SCIM call
// answers 501 in Slack's SCIM error shape.
func (s *Server) scimHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusNotImplemented, map[string]any{"Errors": map[string]any{"description": "SCIM is not emulated yet", "code": 501}})
	})
}
