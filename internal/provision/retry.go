package provision

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// Retry says how a request is sent again when Slack answers 429 or 5xx, or
// no answer comes back. The zero value takes the defaults.
type Retry struct {
	// Attempts bounds the sends after the first for a 5xx or a lost answer
	// (default 5); past it the run stops.
	Attempts int
	// RateLimited bounds the 429s waited out for one request (default 10);
	// past it the run stops.
	RateLimited int
	// Backoff is the first wait after a 5xx or a lost answer (default 500 ms),
	// doubled each time up to MaxBackoff (default 30 s), with jitter.
	Backoff, MaxBackoff time.Duration
	// MaxRetryAfter bounds one 429's wait (default 5 min): a longer
	// Retry-After stops the run rather than hold it.
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx ends; nil means a timer. Tests inject one.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (r Retry) withDefaults() Retry {
	if r.Attempts == 0 {
		r.Attempts = 5
	}
	if r.RateLimited == 0 {
		r.RateLimited = 10
	}
	if r.Backoff == 0 {
		r.Backoff = 500 * time.Millisecond
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = 30 * time.Second
	}
	if r.MaxRetryAfter == 0 {
		r.MaxRetryAfter = 5 * time.Minute
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	return r
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is the wait before the n-th send again (n from 1): Backoff
// doubled n-1 times, at most MaxBackoff, between half and all of it.
func (r Retry) backoff(n int) time.Duration {
	d := r.Backoff
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// StoppedError is a run, or a read of Slack's state, that gave up on a
// request: Slack kept answering 5xx or 429, or answers kept being lost.
// Outcomes recorded so far are kept; applying the plan again resumes it.
type StoppedError struct {
	Index  int    // the change that gave up; 0 while reading the state
	Method string // its request
	Path   string
	Status int    // the last answer's status; 0 when no answer came back
	Reason string // what happened, for a person
	Err    error  // the last error, if any
}

func (e *StoppedError) Error() string {
	at := "reading Slack's state"
	if e.Index > 0 {
		at = fmt.Sprintf("at change %d", e.Index)
	}
	return fmt.Sprintf("provision: stopped %s (%s %s): %s", at, e.Method, e.Path, e.Reason)
}

func (e *StoppedError) Unwrap() error { return e.Err }

// get sends a GET (which only reads, so may always be sent again) until
// Slack answers something other than 429 or 5xx, within r's bounds.
func get(ctx context.Context, c Client, r Retry, path string, q url.Values) (int, []byte, error) {
	failures, limited := 0, 0
	for {
		status, body, err := c.Do(ctx, http.MethodGet, path, q, nil)
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		stop := func(reason string) error {
			return &StoppedError{Method: http.MethodGet, Path: path, Status: status, Reason: reason, Err: err}
		}
		if rl, ok := isRateLimit(err); ok {
			limited++
			if limited > r.RateLimited || rl.RetryAfter > r.MaxRetryAfter {
				return 0, nil, stop(fmt.Sprintf("rate limited %d times (last Retry-After %s)", limited, rl.RetryAfter))
			}
			if err := r.Sleep(ctx, max(rl.RetryAfter, r.Backoff)); err != nil {
				return 0, nil, err
			}
			continue
		}
		if err == nil && status < 500 {
			return status, body, nil
		}
		failures++
		if failures > r.Attempts {
			if err != nil {
				return 0, nil, stop(fmt.Sprintf("no answer %d times: %v", failures, err))
			}
			return 0, nil, stop(fmt.Sprintf("Slack answered %d %d times", status, failures))
		}
		if err := r.Sleep(ctx, r.backoff(failures)); err != nil {
			return 0, nil, err
		}
	}
}
