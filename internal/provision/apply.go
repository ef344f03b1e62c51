package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ApplyOptions say how a plan is applied.
type ApplyOptions struct {
	// Workers is how many changes of one kind of request are in flight at
	// once (default 4). Each kind (POST /Users, PATCH /Users/{id},
	// DELETE /Users/{id}, POST /Groups, PATCH /Groups/{id}) has its own
	// workers: Slack limits each endpoint on its own, so creates, updates
	// and deactivations run side by side.
	Workers int
	// Sequential sends one change at a time in the plan's order: a
	// baseline to measure against.
	Sequential bool
	Retry      Retry
	// OnOutcome is told each change's final outcome (done, failed,
	// skipped) once it is recorded, with how many of the plan's changes are
	// over and how many there are. Calls do not overlap.
	OnOutcome func(o Outcome, finished, total int)
}

// Result counts a plan's changes by their outcome after a run, earlier runs'
// included. Pending changes were not over when the run ended.
type Result struct {
	Done    int `json:"done"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	Pending int `json:"pending"`
}

// Apply sends a plan's changes through c and records each outcome in prog.
// Changes already done or skipped in prog are not sent again, so applying a
// plan again resumes it; failed ones are sent again.
//
// A change waits for the changes it needs (a group change for the creates
// of its new members; a deactivation for the group changes that take the
// person out). A create whose outcome is unknown (recorded started, or sent
// without an answer) is looked up by the match key before it is sent again,
// and a create that Slack refuses with 409 is done if the user Slack has is
// the one it would have made.
//
// A 429 is waited out and a 5xx or a lost answer sent again, within
// opts.Retry's bounds; past them the run stops with a *StoppedError, its
// outcomes kept. Apply returns nil once every change is over (failed ones
// included: see Result), ctx's error if ctx ends first, and a *BrakeError
// for a plan over the brake that was not forced.
func Apply(ctx context.Context, c Client, p *Plan, prog Progress, opts ApplyOptions) (Result, error) {
	if err := checkPlan(p); err != nil {
		return Result{}, err
	}
	if err := brake(p); err != nil {
		return Result{}, err
	}
	prev, err := prog.Outcomes(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("provision: read the outcomes: %w", err)
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	r := &run{c: c, plan: p, prog: prog, opts: opts, retry: opts.Retry.withDefaults(),
		outcomes: map[int]Outcome{}, over: make([]chan struct{}, len(p.Changes)+1), stopped: make(chan struct{})}
	lanes := map[string][]int{}
	var order []string
	for _, ch := range p.Changes {
		r.over[ch.Index] = make(chan struct{})
		if o, ok := prev[ch.Index]; ok {
			r.outcomes[ch.Index] = o
			if o.Status.final() {
				close(r.over[ch.Index])
				r.finished++
				continue
			}
		}
		lane := ch.Request.Method + " " + resourceOf(ch.Request.Path)
		if opts.Sequential {
			lane = "all"
		}
		if _, ok := lanes[lane]; !ok {
			order = append(order, lane)
		}
		lanes[lane] = append(lanes[lane], ch.Index)
	}
	var wg sync.WaitGroup
	for _, lane := range order {
		queue := make(chan int, len(lanes[lane]))
		for _, i := range lanes[lane] {
			queue <- i
		}
		close(queue)
		workers := opts.Workers
		if opts.Sequential {
			workers = 1
		}
		for range min(workers, len(lanes[lane])) {
			wg.Go(func() {
				for i := range queue {
					if !r.waitNeeds(ctx, p.Changes[i-1]) {
						return
					}
					r.change(ctx, p.Changes[i-1])
				}
			})
		}
	}
	wg.Wait()
	res := r.result()
	if r.stopErr != nil {
		return res, r.stopErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, nil
}

// checkPlan refuses a plan that is not one NewPlan made: indexes out of
// order, or needs that point forward.
func checkPlan(p *Plan) error {
	for i, c := range p.Changes {
		if c.Index != i+1 {
			return fmt.Errorf("provision: the plan's change %d has index %d", i+1, c.Index)
		}
		for _, n := range c.Needs {
			if n < 1 || n >= c.Index {
				return fmt.Errorf("provision: the plan's change %d needs change %d, which does not come before it", c.Index, n)
			}
		}
	}
	return nil
}

// resourceOf is "Users" for /Users and /Users/{id}.
func resourceOf(path string) string {
	r, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return r
}

// run is one Apply.
type run struct {
	c     Client
	plan  *Plan
	prog  Progress
	opts  ApplyOptions
	retry Retry

	mu       sync.Mutex
	outcomes map[int]Outcome
	finished int
	over     []chan struct{} // by index: closed once the change's final outcome is recorded

	stopOnce sync.Once
	stopErr  error
	stopped  chan struct{}
}

// stop ends the run: no change starts after it. Changes in flight finish.
func (r *run) stop(err error) {
	r.stopOnce.Do(func() {
		r.stopErr = err
		close(r.stopped)
	})
}

func (r *run) isStopped() bool {
	select {
	case <-r.stopped:
		return true
	default:
		return false
	}
}

// waitNeeds waits until the change's needs are over; false if the run
// stopped or ctx ended first.
func (r *run) waitNeeds(ctx context.Context, c Change) bool {
	for _, n := range c.Needs {
		select {
		case <-r.over[n]:
		case <-r.stopped:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return !r.isStopped() && ctx.Err() == nil
}

func (r *run) outcome(i int) Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcomes[i]
}

// record saves an outcome. A final one is saved even if ctx has ended:
// Slack has answered, and the answer must not be lost.
func (r *run) record(ctx context.Context, o Outcome) bool {
	if o.Status != StatusStarted {
		ctx = context.WithoutCancel(ctx)
	}
	if err := r.prog.Record(ctx, o); err != nil {
		if ctx.Err() == nil {
			r.stop(fmt.Errorf("provision: record the outcome of change %d: %w", o.Index, err))
		}
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[o.Index] = o
	if o.Status == StatusStarted {
		return true
	}
	close(r.over[o.Index])
	r.finished++
	if r.opts.OnOutcome != nil {
		r.opts.OnOutcome(o, r.finished, len(r.plan.Changes))
	}
	return true
}

func (r *run) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := Result{}
	for _, c := range r.plan.Changes {
		switch r.outcomes[c.Index].Status {
		case StatusDone:
			res.Done++
		case StatusFailed:
			res.Failed++
		case StatusSkipped:
			res.Skipped++
		default:
			res.Pending++
		}
	}
	return res
}

// change sends one change and records its outcome.
func (r *run) change(ctx context.Context, c Change) {
	unsure := r.outcome(c.Index).Status == StatusStarted // a run before this one sent it and lost the answer
	if !r.record(ctx, Outcome{Index: c.Index, Status: StatusStarted}) {
		return
	}
	body, note, skip := r.resolve(c)
	if skip {
		r.record(ctx, Outcome{Index: c.Index, Status: StatusSkipped, Note: note})
		return
	}
	o, err := r.send(ctx, c, body, unsure)
	if err != nil {
		var stopped *StoppedError
		if errors.As(err, &stopped) {
			stopped.Index = c.Index
			r.stop(stopped)
		} else if ctx.Err() == nil {
			r.stop(err)
		}
		return // the outcome stays unknown (started): the next run finds out
	}
	o.Index = c.Index
	if note != "" {
		o.Note = strings.Join(slices.DeleteFunc([]string{o.Note, note}, func(s string) bool { return s == "" }), "; ")
	}
	r.record(ctx, o)
}

// resolve fills in the members of a group change: the IDs Slack gave the
// people the plan created. A member whose create or reactivation is not
// done is left out, and said so; a group update left with nothing to do is
// skipped.
func (r *run) resolve(c Change) (body json.RawMessage, note string, skip bool) {
	if c.Kind != KindGroupCreate && c.Kind != KindGroupUpdate {
		return c.Request.Body, "", false
	}
	replace := map[string]string{} // member value → ID, "" to leave the member out
	var left []string
	for _, m := range c.Added {
		if m.Change == 0 {
			continue
		}
		o := r.outcome(m.Change)
		switch {
		case o.Status != StatusDone:
			replace[m.value()] = ""
			left = append(left, fmt.Sprintf("%s ([%d] %s)", m.Name, m.Change, o.Status))
		case m.ID == "":
			replace[m.value()] = o.ID
		}
	}
	if len(replace) == 0 {
		return c.Request.Body, "", false
	}
	var v any
	if err := json.Unmarshal(c.Request.Body, &v); err != nil {
		return nil, "the planned body is not JSON: " + err.Error(), true
	}
	v = fillMembers(v, replace)
	if len(left) > 0 {
		note = "left out " + strings.Join(left, ", ")
	}
	if c.Kind == KindGroupUpdate {
		obj, _ := v.(map[string]any)
		ops, _ := obj["Operations"].([]any)
		ops = slices.DeleteFunc(ops, func(op any) bool {
			m, _ := op.(map[string]any)
			vals, isList := m["value"].([]any)
			return isList && len(vals) == 0
		})
		if len(ops) == 0 {
			return nil, note + ": nothing left to change", true
		}
		obj["Operations"] = ops
	}
	return mustJSON(v), note, false
}

// fillMembers walks a body and, in every list of {"value": …} objects,
// replaces the values replace names (dropping those it maps to "").
func fillMembers(v any, replace map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = fillMembers(e, replace)
		}
		return x
	case []any:
		out := x[:0]
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				if val, ok := m["value"].(string); ok {
					if id, found := replace[val]; found {
						if id == "" {
							continue
						}
						m["value"] = id
					}
				}
			}
			out = append(out, fillMembers(e, replace))
		}
		return out
	}
	return v
}

// send sends a change until Slack answers it for good, and says what became
// of it. unsure means an earlier send may have been acted on: a create
// first looks for what it would make. An error means the outcome is not
// known: the run stops (a *StoppedError) or ctx ended.
func (r *run) send(ctx context.Context, c Change, body json.RawMessage, unsure bool) (Outcome, error) {
	req := c.Request
	var o Outcome
	failures, limited := 0, 0
	for {
		if unsure && (c.Kind == KindCreate || c.Kind == KindGroupCreate) {
			found, err := r.lookup(ctx, c, body)
			if err != nil {
				return o, err
			}
			if found.Status != "" {
				found.Attempts = o.Attempts
				return found, nil
			}
		}
		if r.isStopped() {
			return o, errors.New("provision: the run stopped")
		}
		o.Attempts++
		var sendBody any
		if len(body) > 0 {
			sendBody = body
		}
		status, answer, err := r.c.Do(ctx, req.Method, req.Path, nil, sendBody)
		if ctx.Err() != nil {
			return o, ctx.Err()
		}
		o.HTTPStatus = status
		stop := func(reason string) error {
			return &StoppedError{Method: req.Method, Path: req.Path, Status: status, Reason: reason, Err: err}
		}
		if rl, ok := isRateLimit(err); ok {
			limited++
			if limited > r.retry.RateLimited || rl.RetryAfter > r.retry.MaxRetryAfter {
				return o, stop(fmt.Sprintf("rate limited %d times (last Retry-After %s)", limited, rl.RetryAfter))
			}
			if err := r.retry.Sleep(ctx, max(rl.RetryAfter, r.retry.Backoff)); err != nil {
				return o, err
			}
			continue
		}
		if err != nil || status >= 500 {
			failures++
			unsure = true
			if failures > r.retry.Attempts {
				if err != nil {
					return o, stop(fmt.Sprintf("no answer %d times: %v", failures, err))
				}
				return o, stop(fmt.Sprintf("Slack answered %d %d times (%s)", status, failures, errorDescription(answer)))
			}
			if err := r.retry.Sleep(ctx, r.retry.backoff(failures)); err != nil {
				return o, err
			}
			continue
		}
		return r.answered(ctx, c, body, o, answer)
	}
}

// answered turns Slack's answer (not a 429 or a 5xx) into an outcome.
func (r *run) answered(ctx context.Context, c Change, body json.RawMessage, o Outcome, answer []byte) (Outcome, error) {
	status := o.HTTPStatus
	switch {
	case status >= 200 && status < 300:
		o.Status = StatusDone
		if c.Kind == KindCreate || c.Kind == KindGroupCreate {
			var made struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(answer, &made) != nil || made.ID == "" {
				found, err := r.lookup(ctx, c, body)
				if err != nil || found.Status == "" {
					o.Status, o.Error = StatusFailed, "Slack's answer has no id, and the lookup found nothing"
					return o, err
				}
				found.Attempts, found.HTTPStatus = o.Attempts, status
				return found, nil
			}
			o.ID = made.ID
		}
		return o, nil
	case status == http.StatusConflict && (c.Kind == KindCreate || c.Kind == KindGroupCreate):
		found, err := r.lookup(ctx, c, body)
		if err != nil {
			return o, err
		}
		if found.Status != "" {
			found.Attempts, found.HTTPStatus = o.Attempts, status
			return found, nil
		}
	case status == http.StatusForbidden && c.Kind == KindDeactivate && errorDescription(answer) == "cannot_disable_primary_owner":
		o.Status, o.Error, o.Note = StatusSkipped, "cannot_disable_primary_owner", "Slack never deactivates the primary owner"
		return o, nil
	}
	o.Status, o.Error = StatusFailed, errorDescription(answer)
	if o.Error == "" {
		o.Error = http.StatusText(status)
	}
	return o, nil
}

// lookup looks for what a create would make: the user with its match key
// (done if its userName and primary email are the planned ones), or the
// group with its name (done once the planned members are added). A zero
// Outcome means nothing was found.
func (r *run) lookup(ctx context.Context, c Change, body json.RawMessage) (Outcome, error) {
	if c.Kind == KindGroupCreate {
		return r.lookupGroup(ctx, c, body)
	}
	var want userBody
	if err := json.Unmarshal(body, &want); err != nil {
		return Outcome{}, fmt.Errorf("provision: change %d: the planned body is not a user: %w", c.Index, err)
	}
	wantEmail := ""
	for _, e := range want.Emails {
		if e.Primary {
			wantEmail = e.Value
		}
	}
	filter := filterEq("emails.value", wantEmail)
	if r.plan.Options.MatchKey == MatchUserName {
		filter = filterEq("userName", want.UserName)
	}
	users, err := findUsers(ctx, r.c, r.retry, filter)
	if err != nil {
		return Outcome{}, err
	}
	for _, u := range users {
		if strings.EqualFold(u.UserName, want.UserName) && strings.EqualFold(u.PrimaryEmail(), wantEmail) {
			return Outcome{Status: StatusDone, ID: u.ID, Note: "found in Slack as " + u.ID + ": an earlier send was acted on"}, nil
		}
	}
	return Outcome{}, nil
}

// lookupGroup finds a group by name; when it is there, the planned members
// are added to it (a group create's answer was lost, or the group was made
// by someone else since the plan).
func (r *run) lookupGroup(ctx context.Context, c Change, body json.RawMessage) (Outcome, error) {
	var want groupBody
	if err := json.Unmarshal(body, &want); err != nil {
		return Outcome{}, fmt.Errorf("provision: change %d: the planned body is not a group: %w", c.Index, err)
	}
	groups, err := findGroups(ctx, r.c, r.retry, filterEq("displayName", want.DisplayName))
	if err != nil {
		return Outcome{}, err
	}
	for _, g := range groups {
		if !strings.EqualFold(g.DisplayName, want.DisplayName) {
			continue
		}
		o := Outcome{Status: StatusDone, ID: g.ID, Note: "found in Slack as " + g.ID}
		if len(want.Members) == 0 {
			return o, nil
		}
		add := Change{Index: c.Index, Kind: KindGroupUpdate, Request: Request{Method: http.MethodPatch, Path: "/Groups/" + g.ID}}
		addBody := mustJSON(patchBody{Schemas: []string{SchemaPatchOp}, Operations: []patchOp{{Op: "add", Path: "members", Value: want.Members}}})
		res, err := r.send(ctx, add, addBody, false)
		if err != nil {
			return Outcome{}, err
		}
		if res.Status != StatusDone {
			res.Note = "found in Slack as " + g.ID + ", adding the members failed"
			return res, nil
		}
		o.Note += ", members added"
		o.HTTPStatus = res.HTTPStatus
		return o, nil
	}
	return Outcome{}, nil
}

// String names an outcome for logs: "[3] done U0123".
func (o Outcome) String() string {
	s := "[" + strconv.Itoa(o.Index) + "] " + string(o.Status)
	if o.ID != "" {
		s += " " + o.ID
	}
	if o.Error != "" {
		s += fmt.Sprintf(" (%d %s)", o.HTTPStatus, o.Error)
	}
	if o.Note != "" {
		s += ": " + o.Note
	}
	return s
}
