package instance_test

import (
	"context"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/hubtest"
	"github.com/connhub/connhub/internal/store"
)

// TestARevealWithoutItsAuditEventFails holds the audit log's write lock
// (SQLite: the store's one writer; PostgreSQL: the chain's head row) while
// an admin asks for the instance token: the reveal must fail rather than
// answer without its event, and leave no event behind.
func TestARevealWithoutItsAuditEventFails(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			h := hubtest.Start(t, hubtest.Options{Postgres: backend == "postgres"})
			release := hubtest.HoldAudit(t, h.Store, h.Admin.Org.ID)
			short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			tok, err := h.Services.Token(short, h.Admin, h.Instance.ID)
			cancel()
			release()
			if err == nil || !tok.IsZero() {
				t.Fatalf("the instance token was revealed (%v) while its audit event could not be written", err)
			}
			events, _, err := h.Store.ListAudit(ctx, h.Admin.Org.ID, store.AuditFilter{Action: "instance.token.reveal"}, store.Page{})
			if err != nil || len(events) != 0 {
				t.Errorf("events of the failed reveal: %d (%v); want none", len(events), err)
			}
			// With the log free again, the reveal works and is on record.
			if tok, err := h.Services.Token(ctx, h.Admin, h.Instance.ID); err != nil || tok.IsZero() {
				t.Fatalf("reveal: %v", err)
			}
			events, _, _ = h.Store.ListAudit(ctx, h.Admin.Org.ID, store.AuditFilter{Action: "instance.token.reveal"}, store.Page{})
			if len(events) != 1 || events[0].ActorID != h.Admin.User.ID || events[0].TargetID != h.Instance.ID {
				t.Errorf("events of the reveal: %+v; want one, by the admin, of the instance", events)
			}
		})
	}
}
