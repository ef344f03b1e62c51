package audit

import (
	"context"

	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Log reads an organization's audit log for those the policy lets.
type Log struct {
	Store store.Store
}

// List lists the caller's organization's events that match f, newest first.
func (l Log) List(ctx context.Context, p tenant.Principal, f store.AuditFilter, page store.Page) ([]store.AuditEvent, string, error) {
	if err := authz.Allow(p, authz.ReadAudit, ""); err != nil {
		return nil, "", err
	}
	return l.Store.ListAudit(ctx, p.Org.ID, f, page)
}

// Verify walks the caller's organization's hash chain.
func (l Log) Verify(ctx context.Context, p tenant.Principal) (store.AuditVerification, error) {
	if err := authz.Allow(p, authz.ReadAudit, ""); err != nil {
		return store.AuditVerification{}, err
	}
	return l.Store.VerifyAudit(ctx, p.Org.ID)
}
