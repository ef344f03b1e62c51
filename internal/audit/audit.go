package audit

import (
	"context"
	"fmt"

	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Outcomes of an event.
const (
	Success = "success"
	Denied  = "denied"
	Failure = "failure"
)

// Actor is who an event is by: a kind, an ID and the credential used.
type Actor struct {
	Kind         string // "user", "service", "instance", "system"
	ID           string
	CredentialID string
}

// ActorOf describes p for the audit log.
func ActorOf(p tenant.Principal) Actor {
	a := Actor{Kind: "user", ID: p.User.ID, CredentialID: p.Via}
	switch {
	case p.Via == "system" || p.User.ID == "system":
		return Actor{Kind: "system", ID: "system", CredentialID: "system"}
	case p.User.ID == "" && p.Instance != nil:
		a.Kind, a.ID = "instance", p.Instance.ID
	case p.User.Role == store.RoleService:
		a.Kind = "service"
	}
	if p.Credential != nil {
		a.CredentialID = p.Credential.ID
	}
	return a
}

// System is the principal of what connhub does by itself (a refresh, a
// schedule, an install finishing) in org.
func System(orgID string) tenant.Principal {
	return tenant.Principal{Org: store.Organization{ID: orgID}, User: store.User{ID: "system"}, Via: "system"}
}

// Event is what Write appends.
type Event struct {
	Action     string
	TargetType string
	TargetID   string
	Outcome    string // Success when empty
	Details    map[string]any
}

// Write appends e, by p, to the audit log through q. Call it with the q of
// the transaction that does what e records (store.InTx), so that both
// commit or neither: an action whose event cannot be written fails.
func Write(ctx context.Context, q store.Queries, p tenant.Principal, e Event) error {
	a, r := ActorOf(p), tenant.RequestOf(ctx)
	_, err := q.AppendAudit(ctx, store.AuditEvent{OrgID: p.Org.ID, ActorKind: a.Kind, ActorID: a.ID, CredentialID: a.CredentialID,
		SourceIP: r.SourceIP, RequestID: r.ID, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Outcome: e.Outcome, Details: e.Details})
	if err != nil {
		return fmt.Errorf("audit: %s: %w", e.Action, err)
	}
	return nil
}
