package slacksim

import (
	"net/http"
	"strconv"
	"time"

	"github.com/connhub/connhub/internal/slackspec"
)

// spend takes one call from each of the request's limits (slackspec's
// SCIMLimits: its endpoint's, then its set's), or from none: a call one
// limit refuses costs the others nothing. The buckets are the org's (the
// enterprise on Grid, else the workspace), shared by every token and app, and
// a minute is the sandbox's RateWindow.
func (c *scimCall) spend(limits []slackspec.SCIMLimit) *scimError {
	if !c.s.cfg.RateLimits {
		return nil
	}
	org := c.w.teams[0].ID
	if c.w.enterprise != nil {
		org = c.w.enterprise.ID
	}
	buckets := make([]bucket, len(limits))
	for i, l := range limits {
		buckets[i] = bucket{key: "scim/" + org + "/" + l.Name, burst: l.Burst, interval: refillInterval(c.s.cfg.RateWindow, l.PerMinute)}
	}
	ok, wait, refused := c.s.limiter.takeAll(buckets, c.now)
	if ok {
		return nil
	}
	e := scimErr(http.StatusTooManyRequests, "too_many_requests", "over the SCIM limit "+limits[refused].Name)
	e.header = http.Header{"Retry-After": {strconv.Itoa(retryAfterSeconds(wait))}}
	return e
}

// refillInterval is how long a bucket that refills perMinute calls a window
// takes to gain one, rounded up to the nanosecond so that the sandbox never
// allows more than Slack would.
func refillInterval(window time.Duration, perMinute int) time.Duration {
	n := time.Duration(perMinute)
	return (window + n - 1) / n
}
