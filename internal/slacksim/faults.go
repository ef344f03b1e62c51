package slacksim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/connhub/connhub/internal/slackspec"
)

// Fault makes the sandbox misbehave the ways Slack sometimes does, for one
// method or all, so that clients can be tested against them. A fault with
// Event instead of Method acts on event deliveries: it delays them
// (latency_ms) or drops them (drop: the attempt is not made and counts as
// failed with connection_failed, so Slack's retries follow; count 4 loses an
// event for good).
//
// A fault with SCIM acts on SCIM calls: those that spend the named limit
// ("scim.users.create" for POST /Users, "scim.write" for every write; see
// slackspec.SCIMLimits), or every SCIM request for "*". It comes before
// authentication and the rate limits, as a failure in front of Slack would,
// and answers in SCIM's shape: status with Slack's SCIM error body
// {"Errors":{"description","code"}, "schemas", "detail", "status"}, whose code
// is error or, without one, too_many_requests for 429 (with Retry-After: 1)
// and the status's name otherwise (service_unavailable for 503); malformed
// answers 200 with a truncated SCIM list; latency_ms delays the call, alone
// or before the rest.
type Fault struct {
	ID        int     `json:"id"`
	Method    string  `json:"method,omitempty"`     // a Web API method name, or "*" for every method
	Event     string  `json:"event,omitempty"`      // an event type, or "*" for every delivery attempt
	SCIM      string  `json:"scim,omitempty"`       // a SCIM limit ("scim.users.create"), or "*" for every SCIM call
	Drop      bool    `json:"drop,omitempty"`       // events: do not send the attempt
	Error     string  `json:"error,omitempty"`      // answer {"ok":false,"error":<Error>}; SCIM: the code of the error body (needs status)
	Status    int     `json:"status,omitempty"`     // answer this HTTP status with an HTML body (429 adds Retry-After); SCIM: a SCIM error body
	LatencyMS int     `json:"latency_ms,omitempty"` // wait this long first
	Malformed bool    `json:"malformed,omitempty"`  // answer 200 with a truncated JSON body
	Rate      float64 `json:"rate,omitempty"`       // fraction of calls affected, 0 meaning all
	Count     int     `json:"count,omitempty"`      // affect this many calls, then expire; 0 meaning until cleared
	Hits      int     `json:"hits"`                 // calls affected so far
}

var errorCodeShape = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

func (f Fault) validate() error {
	var errs []error
	targets := 0
	for _, t := range []string{f.Method, f.Event, f.SCIM} {
		if t != "" {
			targets++
		}
	}
	switch {
	case targets == 0:
		errs = append(errs, errors.New(`method is required: a Web API method name or "*" (or event: an event type or "*"; or scim: a SCIM limit or "*")`))
	case targets > 1:
		errs = append(errs, errors.New("a fault acts on one of a method, event deliveries or SCIM calls"))
	case f.SCIM != "" && f.SCIM != "*" && !slackspec.IsSCIMLimit(f.SCIM):
		errs = append(errs, fmt.Errorf("scim %q is not a SCIM limit (scim.read, scim.write, scim.users.create, scim.groups.update…) or \"*\"", f.SCIM))
	case f.SCIM != "" && f.Drop:
		errs = append(errs, errors.New("drop is for event faults"))
	case f.SCIM != "" && f.Error != "" && f.Status == 0:
		errs = append(errs, errors.New("a SCIM fault's error is the code of its error body: it needs a status"))
	case f.Event != "" && (f.Error != "" || f.Status != 0 || f.Malformed):
		errs = append(errs, errors.New("an event fault takes drop and latency_ms only"))
	case f.Event != "" && f.Event != "*" && !errorCodeShape.MatchString(f.Event):
		errs = append(errs, fmt.Errorf("event %q is not an event type", f.Event))
	case f.Method != "" && f.Drop:
		errs = append(errs, errors.New("drop is for event faults"))
	}
	if f.Error != "" && !errorCodeShape.MatchString(f.Error) {
		errs = append(errs, fmt.Errorf("error %q is not an error code (lower case letters, digits and _)", f.Error))
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		errs = append(errs, fmt.Errorf("status must be between 400 and 599, got %d", f.Status))
	}
	if f.LatencyMS < 0 || f.LatencyMS > 120_000 {
		errs = append(errs, fmt.Errorf("latency_ms must be between 0 and 120000, got %d", f.LatencyMS))
	}
	if f.Rate < 0 || f.Rate > 1 {
		errs = append(errs, fmt.Errorf("rate must be between 0 and 1, got %g", f.Rate))
	}
	if f.Count < 0 {
		errs = append(errs, fmt.Errorf("count must not be negative, got %d", f.Count))
	}
	if f.Error == "" && f.Status == 0 && f.LatencyMS == 0 && !f.Malformed && !f.Drop {
		errs = append(errs, errors.New("a fault needs at least one of error, status, latency_ms, malformed (drop, latency_ms for events)"))
	}
	return errors.Join(errs...)
}

type faultSet struct {
	mu     sync.Mutex
	nextID int
	faults []*Fault
	rnd    *rand.Rand
}

func newFaultSet(seed int64) *faultSet {
	return &faultSet{rnd: rand.New(rand.NewPCG(uint64(seed), 42))}
}

func (fs *faultSet) add(f Fault) Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.nextID++
	f.ID, f.Hits = fs.nextID, 0
	fs.faults = append(fs.faults, &f)
	return f
}

func (fs *faultSet) list() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, 0, len(fs.faults))
	for _, f := range fs.faults {
		out = append(out, *f)
	}
	return out
}

func (fs *faultSet) remove(id int) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := len(fs.faults)
	fs.faults = slices.DeleteFunc(fs.faults, func(f *Fault) bool { return f.ID == id })
	return len(fs.faults) != n
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	fs.faults = nil
	fs.mu.Unlock()
}

// pick returns the fault that applies to this call of method, if any, and
// counts the hit; an exhausted fault is removed.
func (fs *faultSet) pick(method string) (Fault, bool) {
	return fs.pickWhere(func(f *Fault) bool { return f.Method != "" && (f.Method == "*" || f.Method == method) })
}

// pickSCIM returns the fault that applies to a SCIM call that spends the
// limits named, if any, and counts the hit.
func (fs *faultSet) pickSCIM(limits []string) (Fault, bool) {
	return fs.pickWhere(func(f *Fault) bool { return f.SCIM != "" && (f.SCIM == "*" || slices.Contains(limits, f.SCIM)) })
}

// pickEvent returns the fault that applies to this delivery attempt of an
// event of type typ, if any, and counts the hit.
func (fs *faultSet) pickEvent(typ string) (Fault, bool) {
	return fs.pickWhere(func(f *Fault) bool { return f.Event != "" && (f.Event == "*" || f.Event == typ) })
}

func (fs *faultSet) pickWhere(match func(*Fault) bool) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if !match(f) {
			continue
		}
		if f.Rate > 0 && fs.rnd.Float64() >= f.Rate {
			continue
		}
		f.Hits++
		hit := *f
		if f.Count > 0 && f.Hits >= f.Count {
			fs.faults = slices.Delete(fs.faults, i, i+1)
		}
		return hit, true
	}
	return Fault{}, false
}

// wait sleeps out the fault's latency. It reports false when the client went
// away first.
func (f Fault) wait(r *http.Request) bool {
	if f.LatencyMS == 0 {
		return true
	}
	t := time.NewTimer(time.Duration(f.LatencyMS) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// apply acts out f. It reports whether it wrote the response; a latency-only
// fault lets the call go on.
func (f Fault) apply(w http.ResponseWriter, r *http.Request) bool {
	if !f.wait(r) {
		return true
	}
	switch {
	case f.Status != 0:
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			errReply("ratelimited").withStatus(f.Status).write(w, nil)
			return true
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\n", f.Status, http.StatusText(f.Status), f.Status, http.StatusText(f.Status))
		return true
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"ok":true,"members":[{"id":"U0`))
		return true
	case f.Error != "":
		errReply(f.Error).write(w, nil)
		return true
	}
	return false
}

// applySCIM acts out f on a SCIM call, in SCIM's shape. It reports whether
// it wrote the response; a latency-only fault lets the call go on.
func (f Fault) applySCIM(w http.ResponseWriter, r *http.Request) bool {
	if !f.wait(r) {
		return true
	}
	switch {
	case f.Status != 0:
		code := f.Error
		if code == "" {
			code = "too_many_requests"
			if f.Status != http.StatusTooManyRequests {
				code = strings.ReplaceAll(strings.ToLower(http.StatusText(f.Status)), " ", "_")
			}
		}
		if code == "" || !errorCodeShape.MatchString(code) {
			code = "error"
		}
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeSCIM(w, f.Status, scimErr(f.Status, code, "a sandbox fault").body())
		return true
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"schemas":["` + scimListResponse + `"],"totalResults":`))
		return true
	}
	return false
}
