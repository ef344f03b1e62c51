package slacksim

import (
	"maps"
	"sync"
)

// MethodStats counts the calls of one Web API method.
type MethodStats struct {
	Calls       int64 `json:"calls"`
	OK          int64 `json:"ok"`
	Errors      int64 `json:"errors"`
	RateLimited int64 `json:"ratelimited"`
	Faults      int64 `json:"faults"`
}

// Stats is what GET /_sandbox/stats reports.
type Stats struct {
	Methods     map[string]MethodStats `json:"methods"`
	CodeGrants  int64                  `json:"code_grants"`
	Refreshes   int64                  `json:"refresh_grants"`
	Exchanges   int64                  `json:"exchanges"`
	Revocations int64                  `json:"revocations"`
	Consents    int64                  `json:"consents_shown"`
	Denials     int64                  `json:"consents_denied"`
	SCIM        map[string]int64       `json:"scim"`
	Events      EventStats             `json:"events"`
}

type statsRecorder struct {
	mu sync.Mutex
	s  Stats
}

func newStats() *statsRecorder {
	r := &statsRecorder{}
	r.reset()
	return r
}

func (r *statsRecorder) reset() {
	r.mu.Lock()
	r.s = Stats{Methods: map[string]MethodStats{}, SCIM: map[string]int64{}}
	r.mu.Unlock()
}

func (r *statsRecorder) method(name string, f func(*MethodStats)) {
	r.mu.Lock()
	m := r.s.Methods[name]
	f(&m)
	r.s.Methods[name] = m
	r.mu.Unlock()
}

func (r *statsRecorder) add(f func(*Stats)) {
	r.mu.Lock()
	f(&r.s)
	r.mu.Unlock()
}

func (r *statsRecorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	s.Methods = maps.Clone(r.s.Methods)
	s.SCIM = maps.Clone(r.s.SCIM)
	return s
}

// Stats reports what the sandbox has seen since it started or was reset.
func (s *Server) Stats() Stats { return s.stats.snapshot() }
