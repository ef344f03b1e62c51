package sync

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// The derived streams: what Snow Atlas and Certero show their users, computed
// from the synced records in key order, a page at a time, so memory stays
// flat however large the workspace. Their clock is the run's creation time,
// so that a run resumed after a crash derives exactly what an uninterrupted
// one would.

// asOf is the instant a run's derived records are computed for.
func (r *runner) asOf() time.Time { return r.run.CreatedAt.UTC() }

// ran says whether stream was done in this run, so its records are current.
func (r *runner) ran(stream string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.progress[stream]
	return ok && p.State == StateDone
}

// keyed reads a stream's live records in key order, a page at a time.
type keyed struct {
	r      *runner
	stream string
	after  string
	buf    []store.Record
	end    bool
	// keysOnly reads keys and times, not the records' data.
	keysOnly bool
}

func (k *keyed) peek(ctx context.Context) (*store.Record, error) {
	for len(k.buf) == 0 && !k.end {
		recs, next, err := k.r.svc.store.ListRecords(ctx, k.r.run.OrgID, k.r.run.InstanceID, k.stream, store.RecordFilter{WithoutData: k.keysOnly},
			store.Page{After: k.after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		k.buf, k.after, k.end = recs, next, next == ""
	}
	if len(k.buf) == 0 {
		return nil, nil
	}
	return &k.buf[0], nil
}

// of collects the records that belong to the person with ID id: keyed id,
// or id/…. Records of people before id are passed over.
func (k *keyed) of(ctx context.Context, id string) ([]store.Record, error) {
	var out []store.Record
	for {
		rec, err := k.peek(ctx)
		if err != nil || rec == nil {
			return out, err
		}
		switch {
		case rec.Key == id || strings.HasPrefix(rec.Key, id+"/"):
			out = append(out, *rec)
		case rec.Key > id:
			return out, nil
		}
		k.buf = k.buf[1:]
	}
}

// license is a person as license management sees them.
type license struct {
	UserID           string  `json:"user_id"`
	TeamID           string  `json:"team_id"`
	Name             string  `json:"name"`
	RealName         string  `json:"real_name"`
	Email            string  `json:"email,omitempty"`
	Title            string  `json:"title,omitempty"`
	AccountType      string  `json:"account_type"`
	Guest            bool    `json:"guest"`
	Deactivated      bool    `json:"deactivated"`
	Bot              bool    `json:"bot"`
	Billable         *bool   `json:"billable"`
	LastActiveAt     *string `json:"last_active_at"`
	LastActiveSource string  `json:"last_active_source"`
	DaysInactive     *int    `json:"days_inactive"`
	Active30d        bool    `json:"active_30d"`
	Active90d        bool    `json:"active_90d"`
	AsOf             string  `json:"as_of"`
}

type slackUser struct {
	ID                string `json:"id"`
	TeamID            string `json:"team_id"`
	Name              string `json:"name"`
	RealName          string `json:"real_name"`
	Deleted           bool   `json:"deleted"`
	IsBot             bool   `json:"is_bot"`
	IsAppUser         bool   `json:"is_app_user"`
	IsWorkflowBot     bool   `json:"is_workflow_bot"`
	IsAdmin           bool   `json:"is_admin"`
	IsOwner           bool   `json:"is_owner"`
	IsPrimaryOwner    bool   `json:"is_primary_owner"`
	IsRestricted      bool   `json:"is_restricted"`
	IsUltraRestricted bool   `json:"is_ultra_restricted"`
	Profile           struct {
		RealName string `json:"real_name"`
		Email    string `json:"email"`
		Title    string `json:"title"`
	} `json:"profile"`
}

func accountType(u slackUser) string {
	switch {
	case u.IsBot || u.IsAppUser || u.IsWorkflowBot || u.ID == "USLACKBOT":
		return "bot"
	case u.IsPrimaryOwner:
		return "primary_owner"
	case u.IsOwner:
		return "owner"
	case u.IsAdmin:
		return "admin"
	case u.IsUltraRestricted:
		return "single_channel_guest"
	case u.IsRestricted:
		return "multi_channel_guest"
	}
	return "member"
}

// deriveLicenses walks the users and, beside them in key order, their
// billable status, logins and analytics, and writes a license per person.
func deriveLicenses(ctx context.Context, w *walker) error {
	r := w.r
	asOf := r.asOf()
	billable := &keyed{r: r, stream: "billable_info", after: w.pos.Parent}
	// Logins and analytics count by their times alone.
	logins := &keyed{r: r, stream: "access_logs", after: w.pos.Parent, keysOnly: true}
	analytics := &keyed{r: r, stream: "member_analytics", after: w.pos.Parent, keysOnly: true}
	haveBilling, haveLogins, haveAnalytics := r.ran("billable_info"), r.ran("access_logs"), r.ran("member_analytics")
	after := w.pos.Parent
	org := r.orgOfSums()
	return w.writeBehind(ctx, func(emit func([]store.Record, func(*position)) error) error {
		for {
			users, next, err := r.svc.store.ListRecords(ctx, r.run.OrgID, r.run.InstanceID, "users", store.RecordFilter{}, store.Page{After: after, Limit: 500})
			if err != nil {
				return err
			}
			recs := make([]store.Record, 0, len(users))
			sums := map[string]int64{} // this page's, for the license summary
			for _, rec := range users {
				var u slackUser
				if err := json.Unmarshal(rec.Data, &u); err != nil {
					return err
				}
				l := license{UserID: u.ID, TeamID: rec.TeamID, Name: u.Name, RealName: firstNonEmpty(u.RealName, u.Profile.RealName), Email: u.Profile.Email,
					Title: u.Profile.Title, AccountType: accountType(u), Guest: u.IsRestricted || u.IsUltraRestricted, Deactivated: u.Deleted,
					LastActiveSource: "none", AsOf: asOf.Format(time.RFC3339)}
				l.Bot = l.AccountType == "bot"
				if haveBilling {
					bs, err := billable.of(ctx, u.ID)
					if err != nil {
						return err
					}
					b := false
					for _, x := range bs {
						var v struct {
							BillingActive bool `json:"billing_active"`
						}
						json.Unmarshal(x.Data, &v)
						b = b || v.BillingActive
					}
					l.Billable = &b
				}
				var last time.Time
				if haveLogins {
					ls, err := logins.of(ctx, u.ID)
					if err != nil {
						return err
					}
					for _, x := range ls {
						if x.SourceUpdatedAt.After(last) {
							last, l.LastActiveSource = x.SourceUpdatedAt, "access_logs"
						}
					}
				}
				if haveAnalytics {
					as, err := analytics.of(ctx, u.ID)
					if err != nil {
						return err
					}
					for _, x := range as {
						// A day of activity counts from the end of that day.
						if end := x.SourceUpdatedAt.Add(24*time.Hour - time.Second); end.After(last) {
							last, l.LastActiveSource = end, "analytics"
						}
					}
				}
				if !last.IsZero() {
					at := last.UTC().Format(time.RFC3339)
					days := max(0, int(asOf.Sub(last)/(24*time.Hour)))
					l.LastActiveAt, l.DaysInactive = &at, &days
					l.Active30d, l.Active90d = days < 30, days < 90
				}
				data, err := json.Marshal(l)
				if err != nil {
					return err
				}
				recs = append(recs, store.Record{Key: u.ID, TeamID: rec.TeamID, Data: data, SourceUpdatedAt: last})
				sum(sums, org, licenseFacts{TeamID: l.TeamID, Guest: l.Guest, Deactivated: l.Deactivated, Bot: l.Bot, Billable: l.Billable,
					Active30d: l.Active30d, Active90d: l.Active90d})
			}
			if len(users) > 0 {
				after = users[len(users)-1].Key
			}
			last := after
			if err := emit(recs, func(p *position) { p.Parent, p.Acc = last, addAcc(p.Acc, sums) }); err != nil {
				return err
			}
			if next == "" {
				return nil
			}
		}
	})
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if x != "" {
			return x
		}
	}
	return ""
}

// summaryFields are the license summary's counts, in order.
var summaryFields = []string{"accounts", "members", "guests", "bots", "deactivated", "billable_seats", "active_30d", "active_90d",
	"billable_inactive_30d", "billable_inactive_90d"}

// licenseFacts are what the license summary counts of a license.
type licenseFacts struct {
	TeamID      string `json:"team_id"`
	Guest       bool   `json:"guest"`
	Deactivated bool   `json:"deactivated"`
	Bot         bool   `json:"bot"`
	Billable    *bool  `json:"billable"`
	Active30d   bool   `json:"active_30d"`
	Active90d   bool   `json:"active_90d"`
}

// sum counts a license in the sums of its workspace, and of the org (on an
// Enterprise Grid org install; "" otherwise).
func sum(acc map[string]int64, org string, l licenseFacts) {
	for _, place := range []string{l.TeamID, org} {
		if place == "" {
			continue
		}
		add := func(field string, yes bool) {
			if yes {
				acc[place+"|"+field]++
			}
		}
		billable := l.Billable != nil && *l.Billable
		add("accounts", true)
		add("members", !l.Guest && !l.Bot && !l.Deactivated)
		add("guests", l.Guest && !l.Deactivated)
		add("bots", l.Bot && !l.Deactivated)
		add("deactivated", l.Deactivated)
		add("billable_seats", billable)
		add("active_30d", l.Active30d && !l.Deactivated)
		add("active_90d", l.Active90d && !l.Deactivated)
		add("billable_inactive_30d", billable && !l.Active30d)
		add("billable_inactive_90d", billable && !l.Active90d)
	}
}

// orgOfSums is the org the license summary sums for too: the Enterprise
// Grid org of an org-wide install, else "".
func (r *runner) orgOfSums() string {
	if in := r.inst(); in.OrgWide {
		return in.EnterpriseID
	}
	return ""
}

// deriveSummary writes the license summary of each workspace (and of the
// whole org on an Enterprise Grid org install). The licenses of this run
// summed themselves as they were written, in their checkpoint: the summary
// takes those sums. Otherwise (licenses written by a version that did not
// sum them) it sums the licenses, keeping its running sums in its own
// checkpoint so that a resumed walk adds up the same.
func deriveSummary(ctx context.Context, w *walker) error {
	r := w.r
	if acc, ok := r.licenseSums(ctx); ok {
		return w.commit(ctx, r.summaries(ctx, acc), w.pos)
	}
	org := r.orgOfSums()
	for {
		recs, next, err := r.svc.store.ListRecords(ctx, r.run.OrgID, r.run.InstanceID, "licenses", store.RecordFilter{}, store.Page{After: w.pos.Parent, Limit: 1000})
		if err != nil {
			return err
		}
		pos := w.pos
		pos.Acc = cloneAcc(w.pos.Acc)
		for _, rec := range recs {
			var l licenseFacts
			if err := json.Unmarshal(rec.Data, &l); err != nil {
				return err
			}
			sum(pos.Acc, org, l)
		}
		if len(recs) > 0 {
			pos.Parent = recs[len(recs)-1].Key
		}
		if next == "" {
			return w.commit(ctx, r.summaries(ctx, pos.Acc), pos)
		}
		if err := w.commit(ctx, nil, pos); err != nil {
			return err
		}
	}
}

// licenseSums are the sums the licenses of this run made as they were
// written, when this run wrote them all.
func (r *runner) licenseSums(ctx context.Context) (map[string]int64, bool) {
	if !r.ran("licenses") {
		return nil, false
	}
	cp, err := r.svc.store.GetCheckpoint(ctx, r.run.OrgID, r.run.InstanceID, "licenses")
	if err != nil {
		return nil, false
	}
	var pos position
	if json.Unmarshal(cp.Cursor, &pos) != nil || pos.Run != r.run.ID || !pos.Done || pos.Acc == nil {
		return nil, false
	}
	return pos.Acc, true
}

// addAcc is acc with sums added, a copy: positions are copied, and share
// their maps.
func addAcc(acc, sums map[string]int64) map[string]int64 {
	out := cloneAcc(acc)
	for k, v := range sums {
		out[k] += v
	}
	return out
}

func cloneAcc(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// summaries turns the sums into a record per workspace (or org).
func (r *runner) summaries(ctx context.Context, acc map[string]int64) []store.Record {
	places := map[string]bool{}
	for k := range acc {
		place, _, _ := strings.Cut(k, "|")
		places[place] = true
	}
	ids := make([]string, 0, len(places))
	for p := range places {
		ids = append(ids, p)
	}
	sort.Strings(ids)
	out := make([]store.Record, 0, len(ids))
	for _, place := range ids {
		obj := map[string]any{"team_id": place, "plan": r.planOf(ctx, place), "as_of": r.asOf().Format(time.RFC3339)}
		for _, f := range summaryFields {
			obj[f] = acc[place+"|"+f]
		}
		data, _ := json.Marshal(obj)
		out = append(out, store.Record{Key: place, TeamID: place, Data: data})
	}
	return out
}

// planOf is a workspace's plan from its synced subscription, else the
// plan the capability check found.
func (r *runner) planOf(ctx context.Context, team string) string {
	if rec, err := r.svc.store.GetRecord(ctx, r.run.OrgID, r.run.InstanceID, "subscriptions", team); err == nil && rec.DeletedAt.IsZero() {
		var s struct {
			Edition string `json:"edition"`
		}
		if json.Unmarshal(rec.Data, &s) == nil && s.Edition != "" {
			return s.Edition
		}
	}
	return r.caps.plan
}

// deriveSnapshot keeps today's summaries under the date: the history of
// billable seats and activity that Slack does not keep.
func deriveSnapshot(ctx context.Context, w *walker) error {
	r := w.r
	date := r.asOf().Format(time.DateOnly)
	recs, _, err := r.svc.store.ListRecords(ctx, r.run.OrgID, r.run.InstanceID, "license_summary", store.RecordFilter{}, store.Page{Limit: 1000})
	if err != nil {
		return err
	}
	out := make([]store.Record, 0, len(recs))
	for _, rec := range recs {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(rec.Data, &obj); err != nil {
			return err
		}
		obj["date"] = json.RawMessage(strconv.Quote(date))
		data, _ := json.Marshal(obj)
		out = append(out, store.Record{Key: date + "/" + rec.Key, TeamID: rec.TeamID, Data: data})
	}
	return w.commit(ctx, out, w.pos)
}
