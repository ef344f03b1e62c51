package slacksim

import (
	"net/http"
	"strconv"
)

// scimClass is one rate-limit budget: calls per RateWindow.
type scimClass struct {
	name   string
	budget int
}

var (
	scimReads       = scimClass{"read", 1000}
	scimWrites      = scimClass{"write", 600}
	scimUsersGet    = scimClass{"users.get", 300}
	scimGroupsGet   = scimClass{"groups.get", 300}
	scimUsersWrite  = scimClass{"users.write", 180}
	scimGroupsWrite = scimClass{"groups.write", 180}
)

// spend takes one call from each of the request's rate-limit classes.
func (c *scimCall) spend(classes []scimClass) *scimError {
	if !c.s.cfg.RateLimits {
		return nil
	}
	place := c.w.teams[0].ID
	if c.w.enterprise != nil {
		place = c.w.enterprise.ID
	}
	for _, cl := range classes {
		ok, wait := c.s.limiter.take("scim/"+place+"/"+cl.name, cl.budget, c.s.cfg.RateWindow, c.now)
		if !ok {
			e := scimErr(http.StatusTooManyRequests, "too_many_requests", "over the SCIM "+cl.name+" budget")
			e.header = http.Header{"Retry-After": {strconv.Itoa(retryAfterSeconds(wait))}}
			return e
		}
	}
	return nil
}
