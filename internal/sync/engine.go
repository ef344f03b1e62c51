package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/slackcall"
	"github.com/connhub/connhub/internal/slackspec"
	"github.com/connhub/connhub/internal/store"
)

// Stream states.
const (
	StatePending = "pending"
	StateRunning = "running"
	StateDone    = "done"
	StateSkipped = "skipped"
	StateFailed  = "failed"
)

// StreamProgress is where one stream of a run is: in the run's Progress.
type StreamProgress struct {
	State  string `json:"state" enum:"pending,running,done,skipped,failed"`
	Reason string `json:"reason,omitempty" doc:"Why it was skipped"`
	Error  string `json:"error,omitempty" doc:"Why it failed"`
	counts
	// Estimate is how many records the stream is expected to hold: what the
	// last run wrote (0 when unknown). ParentsTotal is how many parents a
	// fan-out stream walks.
	Estimate     int64     `json:"estimate,omitempty"`
	ParentsTotal int64     `json:"parents_total,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	// Issues are what made Slack pass over parents of a fan-out stream,
	// by Slack's answer, each with what it means and what to do.
	Issues []Issue `json:"issues,omitempty"`
	// WaitingSince is when the stream began the wait for Slack's budget (or
	// out a Retry-After) it is in now; zero when it is not waiting. A run
	// read while it is worked counts the wait so far in WaitedMS.
	WaitingSince time.Time `json:"waiting_since,omitzero"`
}

// Issue is one answer for which Slack passed over parents of a fan-out
// stream (channels whose history the bot may not read, say).
type Issue struct {
	Error string `json:"error" doc:"Slack's error code, e.g. not_in_channel"`
	Count int64  `json:"count" doc:"How many parents Slack answered it for"`
	Hint  string `json:"hint" doc:"What it means, and what to do about it"`
}

// RunStalled is how a run is shown, never stored, while it is running but
// its lease lapsed: the replica working it died, and none has taken it
// over yet (a sweeper does within its SweepEvery).
const RunStalled = "stalled"

// runner works one run: it checks what the instance may do, runs the
// streams concurrently (each waits for the streams it reads), and keeps the
// run's progress.
type runner struct {
	svc  *Service
	run  store.SyncRun
	opts Options
	caps capabilities

	mu       gosync.Mutex
	instance store.Instance
	progress map[string]*StreamProgress
	dirty    bool
	finished map[string]chan struct{} // closed when the stream is done, skipped or failed
}

// Options are how a run was asked for (the run's Options).
type Options struct {
	// Full walks incremental streams from the start of their window again.
	Full bool `json:"full,omitempty"`
	// AnalyticsDays is how many days of member analytics the first sync
	// fetches (default 1, yesterday's file: each is a row per active member,
	// several times the users; at most 395, as Slack keeps 13 months).
	AnalyticsDays int `json:"analytics_days,omitempty"`
	// ThreadDays is how far back a messages sync looks again for threads
	// that moved (default 7, at most 90).
	ThreadDays int `json:"thread_days,omitempty"`
	// JoinPublicChannels has the bot join (conversations.join, a write,
	// audited) the public channels whose history Slack refuses it
	// (not_in_channel), then read them. It needs the channels:join scope.
	// Private channels it is not in stay reported: no app joins those.
	JoinPublicChannels bool `json:"join_public_channels,omitempty"`
}

// joinScope is the bot scope conversations.join needs.
const joinScope = "channels:join"

// checkJoin says what is wrong with asking an instance to join channels:
// nil when it was not asked, or the instance's bot was granted channels:join.
func (o Options) checkJoin(in store.Instance) error {
	if !o.JoinPublicChannels || slices.Contains(in.BotScopes, joinScope) {
		return nil
	}
	return apierror.New(http.StatusBadRequest, "scope_not_granted", fmt.Sprintf(
		"join_public_channels has the bot join public channels with conversations.join, which needs the %s bot scope; instance %s was not granted it: "+
			"re-authenticate it with %s, or invite the bot to the channels", joinScope, in.ID, joinScope))
}

// validate says what is wrong with the options, as the API answers it.
func (o Options) validate() error {
	switch {
	case o.AnalyticsDays < 0 || o.AnalyticsDays > 395:
		return apierror.New(http.StatusBadRequest, "invalid_options", fmt.Sprintf("analytics_days is %d: it must be between 1 and 395 (Slack keeps 13 months), or 0 for the default", o.AnalyticsDays))
	case o.ThreadDays < 0 || o.ThreadDays > 90:
		return apierror.New(http.StatusBadRequest, "invalid_options", fmt.Sprintf("thread_days is %d: it must be between 1 and 90, or 0 for the default", o.ThreadDays))
	}
	return nil
}

func (o Options) threadDays() int {
	if o.ThreadDays <= 0 {
		return 7
	}
	return min(o.ThreadDays, 90)
}

func (o Options) analyticsDays() int {
	if o.AnalyticsDays <= 0 {
		return 1
	}
	return min(o.AnalyticsDays, 395)
}

func (r *runner) inst() store.Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.instance
}

// call calls Slack for the run's instance, keeping the instance as it is
// after any token refresh.
func (r *runner) call(ctx context.Context, kind, method string, args url.Values) (*slackcall.Result, error) {
	return r.callWaiting(ctx, kind, method, args, nil)
}

// callWaiting is call, telling waiting when the call waits for Slack's
// budget and when it stops (slackcall.Request's Waiting).
func (r *runner) callWaiting(ctx context.Context, kind, method string, args url.Values, waiting func(bool)) (*slackcall.Result, error) {
	res, err := r.svc.caller.Do(ctx, slackcall.Request{Instance: r.inst(), Kind: kind, Method: method, Args: args, Waiting: waiting})
	if res != nil {
		r.mu.Lock()
		if res.Instance.TokenVersion >= r.instance.TokenVersion {
			r.instance = res.Instance
		}
		r.mu.Unlock()
	}
	return res, err
}

func (r *runner) update(name string, fn func(*counts)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.progress[name].counts)
	r.dirty = true
}

func (r *runner) setCounts(s *stream, c counts) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.progress[s.Name]
	p.counts, p.Issues = c, r.issues(s, c)
	r.dirty = true
}

// issues are the answers for which Slack passed over parents of s, most
// parents first, each with what to do.
func (r *runner) issues(s *stream, c counts) []Issue {
	var out []Issue
	for code, n := range c.SkippedBy {
		if !strings.Contains(code, "/") && n > 0 {
			out = append(out, Issue{Error: code, Count: n, Hint: r.hint(s, code, c)})
		}
	}
	slices.SortFunc(out, func(a, b Issue) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Error, b.Error)
	})
	return out
}

// hint says what a code that passed parents over means, and what to do.
func (r *runner) hint(s *stream, code string, c counts) string {
	n := c.SkippedBy[code]
	parents := s.Parent
	if n == 1 {
		parents = strings.TrimSuffix(parents, "s")
	}
	switch code {
	case "not_in_channel":
		var parts []string
		open, private, archived := c.SkippedBy[code+"/open"], c.SkippedBy[code+"/private"], c.SkippedBy[code+"/archived"]
		granted := r.caps.has("bot", joinScope)
		switch {
		case open == 0:
		case !r.opts.JoinPublicChannels && granted:
			parts = append(parts, fmt.Sprintf("invite it, or run with join_public_channels (`connhub sync run --join-public-channels`) to have it join the %s public ones", count(open)))
		case !r.opts.JoinPublicChannels:
			parts = append(parts, fmt.Sprintf("invite it, or run with join_public_channels (`connhub sync run --join-public-channels`) to have it join the %s public ones (needs the %s scope, which the instance was not granted: re-authenticate it with %s)",
				count(open), joinScope, joinScope))
		case !granted:
			parts = append(parts, fmt.Sprintf("join_public_channels was asked, but the instance's bot token was not granted %s: re-authenticate the instance with it to join the %s public ones, or invite the bot",
				joinScope, count(open)))
		default:
			parts = append(parts, fmt.Sprintf("%s public ones could not be joined (conversations.join failed: the hub's log says why); invite the bot", count(open)))
		}
		if private > 0 {
			parts = append(parts, fmt.Sprintf("%s private: invite the bot to each (/invite), as no app joins a private channel by itself", count(private)))
		}
		if archived > 0 {
			parts = append(parts, fmt.Sprintf("%s archived: no one joins an archived channel, so its history stays unread", count(archived)))
		}
		return fmt.Sprintf("the bot is not a member of %s %s; %s", count(n), parents, strings.Join(parts, "; "))
	case "channel_not_found":
		return fmt.Sprintf("%s %s were not found: deleted, or out of the app's reach, since the channel list was read; the next sync lists them again", count(n), parents)
	case "missing_scope":
		return fmt.Sprintf("Slack refused %s for %s %s for a scope the token lacks (private channels need groups:history or groups:read): re-authenticate the instance with it", s.Method, count(n), parents)
	}
	return fmt.Sprintf("Slack answered %s to %s for %s %s; they were passed over", code, s.Method, count(n), parents)
}

// count writes n for people.
func count(n int64) string { return strconv.FormatInt(n, 10) }

// allPassedOver says why a fan-out stream whose every parent Slack passed
// over did nothing ("" if it did something): that is not a success.
func (r *runner) allPassedOver(s *stream) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.progress[s.Name]
	if s.Parent == "" || p.Parents > 0 || p.Skipped == 0 {
		return ""
	}
	var why []string
	for _, is := range p.Issues {
		why = append(why, is.Error+": "+is.Hint)
	}
	return fmt.Sprintf("Slack passed over every one of its %s %s: %s", count(p.Skipped), s.Parent, strings.Join(why, "; "))
}

func (r *runner) setState(name string, fn func(*StreamProgress)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(r.progress[name])
	r.dirty = true
}

// snapshot is the progress to save, and whether it changed since the last.
// A stream that is waiting for Slack's budget counts its wait so far, so
// the progress moves, and is saved, while the wait lasts; the wait's end
// counts it all, so the figure saved never goes back.
func (r *runner) snapshot() (json.RawMessage, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	dirty := r.dirty
	out := make(map[string]StreamProgress, len(r.progress))
	now := r.svc.now()
	for name, p := range r.progress {
		v := *p
		if !v.WaitingSince.IsZero() {
			dirty = true
			if d := now.Sub(v.WaitingSince); d > 0 {
				v.WaitedMS += d.Milliseconds()
			}
		}
		out[name] = v
	}
	raw, _ := json.Marshal(out)
	r.dirty = false
	return raw, dirty
}

// capabilities are what the instance may call: the scopes granted to each
// token, and the workspace's plan.
type capabilities struct {
	scopes map[string]map[string]bool // "bot"/"user" → scope → granted; a missing kind has no token
	plan   string                     // the edition: free, pro, business_plus, enterprise_grid, compliance
	// billing is team.billing.info's answer for the installed workspace, nil
	// when the check could not read it: the subscriptions stream's record,
	// which it need not read again.
	billing []byte
}

func (c capabilities) has(kind, scope string) bool { return c.scopes[kind][scope] }

// check learns the granted scopes from auth.test (Slack's X-OAuth-Scopes:
// what the tokens hold now, not what the install asked for) and the plan
// from team.billing.info (else the edition the instance was created for).
func (r *runner) check(ctx context.Context) error {
	in := r.inst()
	r.caps = capabilities{scopes: map[string]map[string]bool{}, plan: in.Edition}
	for _, kind := range []string{"bot", "user"} {
		if (kind == "bot" && in.BotToken.IsZero()) || (kind == "user" && in.UserToken.IsZero()) {
			continue
		}
		res, err := r.call(ctx, kind, "auth.test", nil)
		if err != nil {
			if slack.IsTokenDead(err) {
				return fmt.Errorf("Slack refuses the instance's %s token (%s): re-authenticate the instance", kind, slackcall.Code(err))
			}
			return fmt.Errorf("auth.test with the %s token: %w", kind, err)
		}
		granted := map[string]bool{}
		for _, s := range strings.Split(res.Header.Get("X-OAuth-Scopes"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				granted[s] = true
			}
		}
		r.caps.scopes[kind] = granted
	}
	if kind, ok := r.grantedKind("team.billing.info", "bot", []string{"team.billing:read"}, nil); ok {
		res, err := r.call(ctx, kind, "team.billing.info", nil)
		if err == nil {
			r.caps.billing = res.Body
			var out struct {
				Plan string `json:"plan"`
			}
			if json.Unmarshal(res.Body, &out) == nil {
				if e, ok := slackCatalog().EditionByPlan(out.Plan); ok {
					r.caps.plan = e.Key
				}
			}
		}
	}
	if r.caps.plan == "" {
		r.caps.plan = "free"
	}
	return nil
}

// grantedKind is the token a method is called with for the scopes given:
// the first of prefer and the other kind that Slack takes for the method
// (its table of methods says which token types each takes) and that was
// granted them.
func (r *runner) grantedKind(method, prefer string, scopes, anyScopes []string) (string, bool) {
	m, known := slackspec.Lookup(method)
	kinds := []string{"bot", "user"}
	if prefer == "user" {
		kinds = []string{"user", "bot"}
	}
	for _, kind := range kinds {
		if known && ((kind == "bot" && len(m.BotScopes) == 0) || (kind == "user" && len(m.UserScopes) == 0)) {
			continue // Slack does not take this kind of token for the method
		}
		if r.caps.scopes[kind] == nil || slices.ContainsFunc(scopes, func(sc string) bool { return !r.caps.has(kind, sc) }) {
			continue
		}
		if len(anyScopes) > 0 && !slices.ContainsFunc(anyScopes, func(sc string) bool { return r.caps.has(kind, sc) }) {
			continue
		}
		return kind, true
	}
	return "", false
}

// tokenFor is the token a stream is walked with: the one it names when
// that token was granted what it needs, else the other where Slack takes it
// for the stream's method and it was granted the same (a user-token-only
// install syncs users, channels and the team with its user token).
func (r *runner) tokenFor(s *stream) string {
	if kind, ok := r.grantedKind(s.Method, s.Token, s.Scopes, s.AnyScopes); ok {
		return kind
	}
	return s.Token
}

// skipReason says why a stream cannot run for this instance, "" if it can.
func (r *runner) skipReason(s *stream) string {
	if s.Walk == walkDerived {
		return ""
	}
	if _, ok := r.grantedKind(s.Method, s.Token, s.Scopes, s.AnyScopes); !ok {
		return r.tokenReason(s)
	}
	if len(s.Plans) > 0 && !slices.Contains(s.Plans, r.caps.plan) {
		name := r.caps.plan
		if e, ok := slackCatalog().Edition(r.caps.plan); ok {
			name = e.Name
		}
		return fmt.Sprintf("not available on the %s plan (%s)", name, s.Method)
	}
	return ""
}

// allSkipped reports whether every stream of the run was skipped.
func (r *runner) allSkipped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.progress {
		if p.State != StateSkipped {
			return false
		}
	}
	return len(r.progress) > 0
}

// skipReasons lists why the streams were skipped, each reason once.
func (r *runner) skipReasons() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var reasons []string
	for _, name := range r.run.Streams {
		if p := r.progress[name]; p != nil && p.Reason != "" && !slices.Contains(reasons, p.Reason) {
			reasons = append(reasons, p.Reason)
		}
	}
	return strings.Join(reasons, "; ")
}

// tokenReason says what the instance's tokens lack for a stream, naming
// the token the stream is meant for.
func (r *runner) tokenReason(s *stream) string {
	if r.caps.scopes[s.Token] == nil {
		return fmt.Sprintf("the instance has no %s token, and its other token was not granted what %s needs; re-authenticate it with %s scopes", s.Token, s.Method, s.Token)
	}
	var missing []string
	for _, sc := range s.Scopes {
		if !r.caps.has(s.Token, sc) {
			missing = append(missing, sc)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("the %s token was not granted %s; re-authenticate the instance with it", s.Token, strings.Join(missing, ", "))
	}
	return fmt.Sprintf("the %s token was granted none of %s", s.Token, strings.Join(s.AnyScopes, ", "))
}

// execute runs the run's streams and reports how it went: nil when every
// stream was done or skipped.
func (r *runner) execute(ctx context.Context) error {
	if err := r.check(ctx); err != nil {
		for _, name := range r.run.Streams {
			r.setState(name, func(p *StreamProgress) {
				p.State, p.Reason, p.FinishedAt = StateSkipped, "the sync could not start: "+err.Error(), r.svc.now()
			})
		}
		return err
	}
	var wg gosync.WaitGroup
	for _, name := range r.run.Streams {
		s := streamByName(name)
		wg.Go(func() { r.runStream(ctx, s) })
	}
	wg.Wait()
	var failed []string
	r.mu.Lock()
	for _, name := range r.run.Streams {
		if p := r.progress[name]; p.State == StateFailed {
			failed = append(failed, name+": "+p.Error)
		}
	}
	r.mu.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// waitFor waits for the streams s reads, and says why s must be skipped if
// one of them did not finish ("" if none).
func (r *runner) waitFor(ctx context.Context, s *stream) string {
	deps := s.After
	if s.Parent != "" {
		deps = append([]string{s.Parent}, deps...)
	}
	for _, d := range deps {
		ch, in := r.finished[d]
		if !in {
			if d == s.Parent {
				return fmt.Sprintf("it fans out over %s, which this sync does not run", d)
			}
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ""
		}
		r.mu.Lock()
		p := *r.progress[d]
		r.mu.Unlock()
		if p.State != StateDone && (d == s.Parent || d == "users" || d == "licenses" || d == "license_summary") {
			return fmt.Sprintf("it needs %s, which was %s", d, p.State)
		}
	}
	return ""
}

func (r *runner) runStream(ctx context.Context, s *stream) {
	defer close(r.finished[s.Name])
	if reason := r.waitFor(ctx, s); reason != "" || ctx.Err() != nil {
		r.skip(s, reason)
		return
	}
	if reason := r.skipReason(s); reason != "" {
		r.skip(s, reason)
		return
	}
	err := r.walk(ctx, s)
	switch code := slackcall.Code(err); {
	case err == nil && r.allPassedOver(s) != "":
		why := r.allPassedOver(s)
		r.svc.log.Info("sync: a stream did nothing: Slack passed over every parent", "run", r.run.ID, "stream", s.Name, "why", why)
		r.setState(s.Name, func(p *StreamProgress) { p.State, p.Error, p.FinishedAt = StateFailed, why, r.svc.now() })
	case err == nil:
		r.setState(s.Name, func(p *StreamProgress) {
			if p.State != StateDone || p.FinishedAt.IsZero() {
				p.FinishedAt = r.svc.now()
			}
			p.State = StateDone
		})
	case code != "" && slack.Classify(code) == slack.SkipStream:
		// Slack's answer says the stream cannot run here, which the
		// capability check could not know: skipped, not failed.
		r.skip(s, fmt.Sprintf("Slack answered %s to %s", code, s.Method))
	case ctx.Err() != nil:
		// The run stopped (a shutdown, a cancel, its lease lost): the
		// stream did not fail, it waits to go on from its checkpoint.
		r.svc.log.Debug("sync: a stream stopped with its run", "run", r.run.ID, "stream", s.Name, "cause", context.Cause(ctx))
		r.setState(s.Name, func(p *StreamProgress) { p.State, p.WaitingSince = StatePending, time.Time{} })
	default:
		r.svc.log.Warn("sync: a stream failed", "run", r.run.ID, "stream", s.Name, "err", err)
		r.setState(s.Name, func(p *StreamProgress) { p.State, p.Error, p.FinishedAt = StateFailed, err.Error(), r.svc.now() })
	}
}

func (r *runner) skip(s *stream, reason string) {
	if reason == "" {
		reason = "the sync stopped first"
	}
	r.setState(s.Name, func(p *StreamProgress) { p.State, p.Reason, p.FinishedAt = StateSkipped, reason, r.svc.now() })
}

// walk fetches a stream from its checkpoint: this run's, to resume it, or
// else a fresh start that keeps the last run's mark.
func (r *runner) walk(ctx context.Context, s *stream) error {
	w := &walker{r: r, s: s}
	cp, err := r.svc.store.GetCheckpoint(ctx, r.run.OrgID, r.run.InstanceID, s.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		w.cpv = cp.Version
		var old position
		if len(cp.Cursor) > 0 && string(cp.Cursor) != "null" {
			if err := json.Unmarshal(cp.Cursor, &old); err != nil {
				return fmt.Errorf("%s: the checkpoint cannot be read: %w", s.Name, err)
			}
		}
		if old.Run == r.run.ID {
			w.pos = old
		} else {
			w.pos = position{Run: r.run.ID, Mark: old.Mark}
			if old.Done && old.NewMark != "" {
				w.pos.Mark = old.NewMark
			}
			if r.opts.Full {
				w.pos.Mark = ""
			}
			r.setState(s.Name, func(p *StreamProgress) { p.Estimate = old.Records })
		}
	}
	if w.pos.Run == "" {
		w.pos.Run = r.run.ID
	}
	r.setState(s.Name, func(p *StreamProgress) {
		// A resumed run goes on from what it showed: its counters never go
		// back, and a stream it had finished keeps its times.
		w.pos.counts.atLeast(p.counts)
		p.counts, p.Issues = w.pos.counts, r.issues(s, w.pos.counts)
		if p.StartedAt.IsZero() {
			p.StartedAt = r.svc.now()
		}
		p.State = StateRunning
		if w.pos.Done {
			p.State = StateDone
		} else {
			p.FinishedAt = time.Time{}
		}
		if s.Parent != "" {
			r.progress[s.Name].ParentsTotal = r.progress[s.Parent].Records
		}
	})
	if w.pos.Done {
		return nil // done before the process that was running it stopped
	}
	if err := w.loadFromEvents(ctx); err != nil {
		return fmt.Errorf("%s: read what events wrote: %w", s.Name, err)
	}
	for _, team := range r.teams(s) {
		if team < w.pos.Team || (team == w.pos.Team && w.pos.TeamDone) {
			continue
		}
		w.team = team
		if team != w.pos.Team {
			w.pos.Team, w.pos.TeamDone, w.pos.Parent, w.pos.ParentDone, w.pos.Cursor, w.pos.Page = team, false, "", false, "", 0
		}
		if err := s.fetch(ctx, w); err != nil {
			return err
		}
		next := w.pos
		next.TeamDone, next.Parent, next.ParentDone, next.Cursor, next.Page = true, "", false, "", 0
		if err := w.commit(ctx, nil, next); err != nil {
			return err
		}
	}
	return w.finish(ctx)
}

// grantedTeams reads again which workspaces an org-wide install is granted
// (auth.teams.list): a workspace added since the install is synced, the
// records of one removed are marked deleted, and an install left with none
// is marked needs_workspaces.
func (r *runner) grantedTeams(ctx context.Context) error {
	in := r.inst()
	kind := "bot"
	if in.BotToken.IsZero() {
		kind = "user"
	}
	var ids []string
	cursor := ""
	for {
		args := url.Values{"limit": {"1000"}}
		if cursor != "" {
			args.Set("cursor", cursor)
		}
		res, err := r.call(ctx, kind, "auth.teams.list", args)
		if err != nil {
			return err
		}
		var page struct {
			Teams []struct {
				ID string `json:"id"`
			} `json:"teams"`
			Meta struct {
				Next string `json:"next_cursor"`
			} `json:"response_metadata"`
		}
		if err := json.Unmarshal(res.Body, &page); err != nil {
			return fmt.Errorf("auth.teams.list: %w", err)
		}
		for _, t := range page.Teams {
			ids = append(ids, t.ID)
		}
		if cursor = page.Meta.Next; cursor == "" {
			break
		}
	}
	slices.Sort(ids)
	if slices.Equal(ids, in.Teams) {
		return nil
	}
	g, err := store.SetGrantedTeams(ctx, r.svc.store, in.OrgID, in.ID, ids, r.svc.now(), nil)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.instance.Teams = g.Instance.Teams
	r.mu.Unlock()
	r.svc.log.Info("sync: the org install's workspaces changed", "instance", in.ID, "added", g.Added, "removed", g.Removed, "records_marked_deleted", g.Marked)
	return nil
}

// teams are the workspaces a stream is walked for, in order: each granted
// workspace of an Enterprise Grid org install, else the one ("").
func (r *runner) teams(s *stream) []string {
	in := r.inst()
	if !in.OrgWide || s.OrgLevel || s.Walk == walkDerived || len(in.Teams) == 0 {
		return []string{""}
	}
	teams := slices.Clone(in.Teams)
	slices.Sort(teams)
	return teams
}
