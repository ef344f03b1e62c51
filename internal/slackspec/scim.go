package slackspec

import "net/http"

// SCIMLimit is one of the rate limits of Slack's SCIM API (FACTS 5; Slack's
// "SCIM API rate limits" page). Unlike the Web API's, they hold for the whole
// organization (the Enterprise Grid org, or the workspace), shared by every
// SCIM app in it, and each has a burst: a bucket of Burst calls that refills
// at PerMinute a minute. A call spends its endpoint's limit, if it has one,
// and its set's (every read, or every write).
type SCIMLimit struct {
	Name      string // "scim.users.create": the limit's name, also its pacing method
	PerMinute int
	Burst     int
}

// The limits, as Slack's page lists them (the reads by ID: 300 a minute,
// burst 300).
var (
	SCIMReads        = SCIMLimit{"scim.read", 1000, 1000}
	SCIMWrites       = SCIMLimit{"scim.write", 600, 180}
	SCIMUsersGet     = SCIMLimit{"scim.users.get", 300, 300}
	SCIMUsersCreate  = SCIMLimit{"scim.users.create", 180, 20}
	SCIMUsersUpdate  = SCIMLimit{"scim.users.update", 180, 20} // PUT and PATCH
	SCIMUsersDelete  = SCIMLimit{"scim.users.delete", 180, 20}
	SCIMGroupsGet    = SCIMLimit{"scim.groups.get", 300, 300}
	SCIMGroupsCreate = SCIMLimit{"scim.groups.create", 180, 20}
	SCIMGroupsUpdate = SCIMLimit{"scim.groups.update", 180, 80} // PUT and PATCH
	SCIMGroupsDelete = SCIMLimit{"scim.groups.delete", 180, 20}
)

var scimLimits = map[string]SCIMLimit{}

func init() {
	for _, l := range []SCIMLimit{SCIMReads, SCIMWrites, SCIMUsersGet, SCIMUsersCreate, SCIMUsersUpdate, SCIMUsersDelete,
		SCIMGroupsGet, SCIMGroupsCreate, SCIMGroupsUpdate, SCIMGroupsDelete} {
		scimLimits[l.Name] = l
	}
}

// LookupSCIMLimit returns the SCIM limit named name ("scim.users.create").
func LookupSCIMLimit(name string) (SCIMLimit, bool) {
	l, ok := scimLimits[name]
	return l, ok
}

// SCIMLimits are the limits a SCIM call spends, its endpoint's (if any)
// before its set's: verb is the HTTP method, resource "Users" or "Groups"
// (anything else spends only its set's), and byID whether the path names
// one resource (/Users/{id}).
func SCIMLimits(verb, resource string, byID bool) []SCIMLimit {
	set := SCIMWrites
	if verb == http.MethodGet || verb == http.MethodHead {
		set = SCIMReads
	}
	var own SCIMLimit
	switch users := resource == "Users"; {
	case resource != "Users" && resource != "Groups":
	case set == SCIMReads:
		if byID {
			own = pick(users, SCIMUsersGet, SCIMGroupsGet)
		}
	case verb == http.MethodPost && !byID:
		own = pick(users, SCIMUsersCreate, SCIMGroupsCreate)
	case verb == http.MethodDelete && byID:
		own = pick(users, SCIMUsersDelete, SCIMGroupsDelete)
	case (verb == http.MethodPut || verb == http.MethodPatch) && byID:
		own = pick(users, SCIMUsersUpdate, SCIMGroupsUpdate)
	}
	if own.Name == "" {
		return []SCIMLimit{set}
	}
	return []SCIMLimit{own, set}
}

func pick(users bool, u, g SCIMLimit) SCIMLimit {
	if users {
		return u
	}
	return g
}

// IsSCIMLimit reports whether name names a SCIM limit rather than a Web API
// method.
func IsSCIMLimit(name string) bool {
	_, ok := scimLimits[name]
	return ok
}

// Budget is the budget the pacer keeps for name, a Web API method or a SCIM
// limit: at most calls in any span of windows rate windows (a minute on
// Slack). A Web API method's is its tier's budget in one window. A SCIM
// limit's is its burst in the time its rate takes to refill it
// (Burst/PerMinute of a window): a client that never makes more than Burst
// calls in that span never empties Slack's bucket, and keeps PerMinute a
// minute. ok is false for a method Slack does not limit.
func Budget(name string) (calls int, windows float64, ok bool) {
	if l, found := scimLimits[name]; found {
		return l.Burst, float64(l.Burst) / float64(l.PerMinute), true
	}
	m, found := methods[name]
	if !found {
		return 0, 0, false
	}
	n, limited := m.PerMinute()
	if !limited || n <= 0 {
		return 0, 0, false
	}
	return n, 1, true
}
