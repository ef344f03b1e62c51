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
	ApplyEvent(ctx context.Context, in store.Instance, eventID string, event json.RawMessage) ([]string, error)
}

// Notifier hands processed events on to subscribers (webhooks.Service).
type Notifier interface {
	EventProcessed(ctx context.Context, e store.SlackEvent, instanceIDs []string) error
}

// processArgs is the job that processes a kept event.
type processArgs struct {
	OrgID string `json:"org_id"`
	ID    string `json:"id"`
}

func (processArgs) Kind() string { return "connhub.slack_event" }

// maxAttempts bounds River's retries of an event's processing (its
// backoff grows to hours); after the last the event is failed.
const maxAttempts = 10

var processOpts = &river.InsertOpts{Queue: queueName, MaxAttempts: maxAttempts}

type processWorker struct {
	river.WorkerDefaults[processArgs]
	svc *Service
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[processArgs]) error {
	err := w.svc.Process(ctx, job.Args.OrgID, job.Args.ID)
	if err != nil && job.Attempt >= maxAttempts {
		w.svc.finish(ctx, job.Args.OrgID, job.Args.ID, store.SlackEventFailed, err.Error(), nil)
	}
	return err
}

// authorization is one of an event's authorizations: an install that may
// see it.
type authorization struct {
	TeamID       string `json:"team_id"`
	EnterpriseID string `json:"enterprise_id"`
	UserID       string `json:"user_id"`
}

// Process routes a kept event to its instances and applies it. An event
// processed already is left as it is; an error leaves it received, for the
// queue to try again.
func (s *Service) Process(ctx context.Context, orgID, id string) error {
	e, err := s.store.GetSlackEvent(ctx, orgID, id)
	if err != nil {
		return err
	}
	if e.Status != store.SlackEventReceived {
		return nil
	}
	var env struct {
		Event               json.RawMessage `json:"event"`
		ContextTeamID       string          `json:"context_team_id"`
		ContextEnterpriseID string          `json:"context_enterprise_id"`
		Authorizations      []authorization `json:"authorizations"`
	}
	if err := json.Unmarshal(e.Body, &env); err != nil {
		s.finish(ctx, orgID, id, store.SlackEventFailed, "the kept body is not JSON: "+err.Error(), nil)
		return nil
	}
	ins, err := s.route(ctx, e, env.ContextTeamID, env.ContextEnterpriseID, env.Authorizations)
	if err != nil {
		return err
	}
	if len(ins) == 0 {
		s.finish(ctx, orgID, id, store.SlackEventUnrouted, "", nil)
		return nil
	}
	var ids []string
	for _, in := range ins {
		if err := s.apply(ctx, in, e, env.Event); err != nil {
			return fmt.Errorf("events: %s on %s: %w", e.Type, in.ID, err)
		}
		ids = append(ids, in.ID)
	}
	if s.webhooks != nil {
		// Before the event is marked processed: a failure here is retried
		// with the whole processing, which adds no delivery twice.
		if err := s.webhooks.EventProcessed(ctx, e, ids); err != nil {
			return fmt.Errorf("events: hand %s to the webhooks: %w", e.ID, err)
		}
	}
	s.finish(ctx, orgID, id, store.SlackEventProcessed, "", ids)
	return nil
}

func (s *Service) finish(ctx context.Context, orgID, id, status, errText string, ids []string) {
	if err := s.store.FinishSlackEvent(ctx, orgID, id, status, errText, ids); err != nil {
		s.log.Warn("events: record an event's outcome", "event", id, "err", err)
		return
	}
	s.metrics.processed.WithLabelValues(status).Inc()
}

// route finds the instances of the event's app that its workspaces belong
// to: a workspace install of one of them, or an org-wide install of its
// enterprise. Instances that never got tokens (pending, failed, expired)
// have no events.
func (s *Service) route(ctx context.Context, e store.SlackEvent, contextTeam, contextEnterprise string, auths []authorization) ([]store.Instance, error) {
	teams, enterprises := []string{e.TeamID, contextTeam}, []string{e.EnterpriseID, contextEnterprise}
	for _, a := range auths {
		teams, enterprises = append(teams, a.TeamID), append(enterprises, a.EnterpriseID)
	}
	var out []store.Instance
	after := ""
	for {
		page, next, err := s.store.ListInstances(ctx, e.OrgID, store.InstanceFilter{Connector: "slack"}, store.Page{After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, in := range page {
			switch {
			case in.AppID != e.AppID, in.Status == store.StatusPending, in.Status == store.StatusFailed, in.Status == store.StatusExpired:
			case in.OrgWide && in.EnterpriseID != "" && slices.Contains(enterprises, in.EnterpriseID),
				!in.OrgWide && in.TeamID != "" && slices.Contains(teams, in.TeamID):
				out = append(out, in)
			}
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
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
	_, err := s.records.ApplyEvent(ctx, in, e.ID, event)
	return err
}
