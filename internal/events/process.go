package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/riverqueue/river"

	"github.com/connhub/connhub/internal/store"
)

// Revoker marks an instance whose tokens Slack says work no more
// (instance.Service).
type Revoker interface {
	SlackRevoked(ctx context.Context, in store.Instance, event, eventID, reason string) error
}

// Applier brings the records an event concerns up to date
// (sync.Service).
type Applier interface {
	ApplyEvent(ctx context.Context, in store.Instance, e store.SlackEvent, event json.RawMessage) ([]string, error)
}

// Notifier hands processed events on to subscribers (webhooks.Service).
type Notifier interface {
	// EventsProcessed is called once a batch, in the transaction that
	// marks its events processed, with each event and the instances it
	// went to; wake is called once that transaction commits.
	EventsProcessed(ctx context.Context, q store.Queries, evs []store.SlackEvent, instanceIDs [][]string) (wake func(context.Context), err error)
}

// processArgs is the job that processes kept events, in order.
type processArgs struct {
	Events []eventRef `json:"events"`
}

type eventRef struct {
	OrgID string `json:"org_id"`
	ID    string `json:"id"`
}

func (processArgs) Kind() string { return "connhub.slack_events" }

// maxAttempts bounds River's retries of a batch's processing (its backoff
// grows to hours); after the last, its unprocessed events are failed.
const maxAttempts = 10

var processOpts = &river.InsertOpts{Queue: queueName, MaxAttempts: maxAttempts}

type processWorker struct {
	river.WorkerDefaults[processArgs]
	svc *Service
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[processArgs]) error {
	b := &batch{instances: map[string][]store.Instance{}}
	for _, e := range job.Args.Events {
		o, err := w.svc.process(ctx, b, e.OrgID, e.ID)
		switch {
		case err != nil && job.Attempt >= maxAttempts:
			o = &store.SlackEventOutcome{OrgID: e.OrgID, ID: e.ID, Status: store.SlackEventFailed, Error: err.Error()}
		case err != nil:
			// What is done stays done; the rest comes back with the retry.
			return errors.Join(err, w.svc.finish(ctx, b))
		}
		if o != nil {
			b.done = append(b.done, *o)
		}
	}
	return w.svc.finish(ctx, b)
}

// batch is what a job's processing of several events shares: each
// organization's instances, read once, and the outcomes, written at once.
type batch struct {
	instances map[string][]store.Instance
	done      []store.SlackEventOutcome
	routed    []store.SlackEvent // the events processed, for the webhooks
	routedTo  [][]string         // and the instances each went to
}

// authorization is one of an event's authorizations: an install that may
// see it.
type authorization struct {
	TeamID       string `json:"team_id"`
	EnterpriseID string `json:"enterprise_id"`
	UserID       string `json:"user_id"`
}

// process routes a kept event to its instances and applies it, and says
// what became of it (nil: processed already, by an earlier try). An error
// leaves it received, for the queue to try again.
func (s *Service) process(ctx context.Context, b *batch, orgID, id string) (*store.SlackEventOutcome, error) {
	e, err := s.store.GetSlackEvent(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if e.Status != store.SlackEventReceived {
		return nil, nil
	}
	o := &store.SlackEventOutcome{OrgID: orgID, ID: id, ReceivedAt: e.ReceivedAt}
	var env struct {
		Event               json.RawMessage `json:"event"`
		ContextTeamID       string          `json:"context_team_id"`
		ContextEnterpriseID string          `json:"context_enterprise_id"`
		Authorizations      []authorization `json:"authorizations"`
	}
	if err := json.Unmarshal(e.Body, &env); err != nil {
		o.Status, o.Error = store.SlackEventFailed, "the kept body is not JSON: "+err.Error()
		return o, nil
	}
	ins, err := s.route(ctx, b, e, env.ContextTeamID, env.ContextEnterpriseID, env.Authorizations)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		o.Status = store.SlackEventUnrouted
		return o, nil
	}
	for _, in := range ins {
		if err := s.apply(ctx, in, e, env.Event); err != nil {
			return nil, fmt.Errorf("events: %s on %s: %w", e.Type, in.ID, err)
		}
		o.InstanceIDs = append(o.InstanceIDs, in.ID)
	}
	b.routed, b.routedTo = append(b.routed, e), append(b.routedTo, o.InstanceIDs)
	o.Status = store.SlackEventProcessed
	return o, nil
}

// finish records the batch's outcomes, with the webhooks' deliveries of the
// events processed, in one transaction; and counts them.
func (s *Service) finish(ctx context.Context, b *batch) error {
	ctx = context.WithoutCancel(ctx)
	wake := func(context.Context) {}
	err := s.store.InTx(ctx, func(q store.Queries) error {
		if s.webhooks != nil && len(b.routed) > 0 {
			var err error
			if wake, err = s.webhooks.EventsProcessed(ctx, q, b.routed, b.routedTo); err != nil {
				return fmt.Errorf("hand %d events to the webhooks: %w", len(b.routed), err)
			}
		}
		return q.FinishSlackEvents(ctx, b.done)
	})
	if err != nil {
		return fmt.Errorf("events: record %d events' outcomes: %w", len(b.done), err)
	}
	wake(ctx)
	for _, o := range b.done {
		s.metrics.processed.WithLabelValues(o.Status).Inc()
	}
	return nil
}

// route finds the instances of the event's app that its workspaces belong
// to: a workspace install of one of them, or an org-wide install of its
// enterprise. Instances that never got tokens (pending, failed, expired)
// have no events.
func (s *Service) route(ctx context.Context, b *batch, e store.SlackEvent, contextTeam, contextEnterprise string, auths []authorization) ([]store.Instance, error) {
	teams, enterprises := []string{e.TeamID, contextTeam}, []string{e.EnterpriseID, contextEnterprise}
	for _, a := range auths {
		teams, enterprises = append(teams, a.TeamID), append(enterprises, a.EnterpriseID)
	}
	all, ok := b.instances[e.OrgID]
	if !ok {
		after := ""
		for {
			page, next, err := s.store.ListInstances(ctx, e.OrgID, store.InstanceFilter{Connector: "slack"}, store.Page{After: after, Limit: 500})
			if err != nil {
				return nil, err
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			after = next
		}
		b.instances[e.OrgID] = all
	}
	var out []store.Instance
	for _, in := range all {
		switch {
		case in.AppID != e.AppID, in.Status == store.StatusPending, in.Status == store.StatusFailed, in.Status == store.StatusExpired:
		case in.OrgWide && in.EnterpriseID != "" && slices.Contains(enterprises, in.EnterpriseID),
			!in.OrgWide && in.TeamID != "" && slices.Contains(teams, in.TeamID):
			out = append(out, in)
		}
	}
	return out, nil
}

// apply acts on one event for one of its instances.
func (s *Service) apply(ctx context.Context, in store.Instance, e store.SlackEvent, event json.RawMessage) error {
	switch e.Type {
	case "app_uninstalled":
		return s.instances.SlackRevoked(ctx, in, e.Type, e.EventID, "app_uninstalled: the app was uninstalled from the workspace; install it again to use the instance")
	case "tokens_revoked":
		var ev struct {
			Tokens struct {
				OAuth []string `json:"oauth"`
				Bot   []string `json:"bot"`
			} `json:"tokens"`
		}
		if err := json.Unmarshal(event, &ev); err != nil {
			return errors.New("a tokens_revoked event without its tokens")
		}
		var kinds []string
		if !in.BotToken.IsZero() && in.BotUserID != "" && slices.Contains(ev.Tokens.Bot, in.BotUserID) {
			kinds = append(kinds, "bot")
		}
		if !in.UserToken.IsZero() && in.AuthedUserID != "" && slices.Contains(ev.Tokens.OAuth, in.AuthedUserID) {
			kinds = append(kinds, "user")
		}
		if len(kinds) == 0 {
			return nil // another install's tokens
		}
		tokens := kinds[0] + " token"
		if len(kinds) == 2 {
			tokens = "bot and user tokens"
		}
		return s.instances.SlackRevoked(ctx, in, e.Type, e.EventID, "tokens_revoked: Slack revoked the instance's "+tokens+"; re-authenticate it")
	}
	_, err := s.records.ApplyEvent(ctx, in, e, event)
	return err
}
