package httpapi

import (
	"context"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
)

// AuditEvent is one event of the audit log.
type AuditEvent struct {
	ID           string         `json:"id"`
	Seq          int64          `json:"seq" doc:"The event's place in its organization's chain, from 1"`
	At           time.Time      `json:"at"`
	ActorKind    string         `json:"actor_kind" enum:"user,service,instance,system,anonymous"`
	ActorID      string         `json:"actor_id"`
	CredentialID string         `json:"credential_id" doc:"The API token's ID (key_…), or how the actor authenticated: instance_token, open_connectors, console, system"`
	SourceIP     string         `json:"source_ip,omitempty"`
	RequestID    string         `json:"request_id,omitempty"`
	Action       string         `json:"action"`
	TargetType   string         `json:"target_type,omitempty"`
	TargetID     string         `json:"target_id,omitempty"`
	Outcome      string         `json:"outcome" enum:"success,denied,failure"`
	Details      map[string]any `json:"details,omitempty"`
	Hash         string         `json:"hash" doc:"SHA-256 of the event and the hash before it, hex"`
}

func auditView(e store.AuditEvent) AuditEvent {
	return AuditEvent{ID: e.ID, Seq: e.Seq, At: e.At, ActorKind: e.ActorKind, ActorID: e.ActorID, CredentialID: e.CredentialID, SourceIP: e.SourceIP,
		RequestID: e.RequestID, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Outcome: e.Outcome, Details: e.Details,
		Hash: hex.EncodeToString(e.Hash)}
}

type auditOutput struct {
	Body struct {
		Events []AuditEvent `json:"events" doc:"Newest first"`
		Page
	}
}

type auditVerifyOutput struct {
	Body struct {
		OK        bool   `json:"ok" doc:"The chain holds: no event was changed, removed or cut off"`
		Events    int64  `json:"events" doc:"Events checked"`
		Unchained int64  `json:"unchained" doc:"Events written before the chain began (they cannot be checked)"`
		Head      string `json:"head,omitempty" doc:"The hash of the newest event: keep it elsewhere to prove later that the log was not rewritten whole"`
		BrokenAt  int64  `json:"broken_at,omitempty" doc:"The seq of the first event that does not hold"`
		Reason    string `json:"reason,omitempty"`
	}
}

func (a *API) auditRoutes() {
	tags := []string{"Audit"}
	log := audit.Log{Store: a.o.Store}
	huma.Register(a.huma, guarded(authz.ReadAudit, huma.Operation{OperationID: "list-audit", Method: http.MethodGet, Path: "/v1/audit",
		Summary: "List the audit log", Description: "The organization's events, newest first, filtered by actor, action (or a prefix ending in a dot: instance.), target and time.", Tags: tags}),
		func(ctx context.Context, in *struct {
			Actor  string    `query:"actor" doc:"A user's or instance's ID"`
			Action string    `query:"action" doc:"An action, or a prefix ending in a dot (credential.)"`
			Target string    `query:"target" doc:"A target's ID"`
			Since  time.Time `query:"since" doc:"At or after (RFC 3339)"`
			Until  time.Time `query:"until" doc:"Before (RFC 3339)"`
			PageQuery
		}) (*auditOutput, error) {
			events, next, err := log.List(ctx, principal(ctx), store.AuditFilter{ActorID: in.Actor, Action: in.Action, TargetID: in.Target, Since: in.Since, Until: in.Until}, in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &auditOutput{}
			out.Body.Events, out.Body.NextCursor = make([]AuditEvent, len(events)), next
			for i, e := range events {
				out.Body.Events[i] = auditView(e)
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadAudit, huma.Operation{OperationID: "verify-audit", Method: http.MethodGet, Path: "/v1/audit/verify",
		Summary: "Verify the audit log's hash chain", Description: "Walks the organization's chain from its first event and reports the first that was changed, removed or cut off.", Tags: tags}),
		func(ctx context.Context, _ *struct{}) (*auditVerifyOutput, error) {
			v, err := log.Verify(ctx, principal(ctx))
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &auditVerifyOutput{}
			b := &out.Body
			b.OK, b.Events, b.Unchained, b.Head, b.BrokenAt, b.Reason = v.BrokenAt == 0, v.Events, v.Unchained, hex.EncodeToString(v.Head), v.BrokenAt, v.Reason
			return out, nil
		})
}
