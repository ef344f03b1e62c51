package connhub

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// ListAudit returns one page of the organization's audit log, newest first
// (GET /v1/audit): admins, or tokens with the audit:read scope.
func (c *Client) ListAudit(ctx context.Context, f AuditFilter, opts ListOptions) (AuditPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	var out AuditPage
	err := c.do(ctx, http.MethodGet, "/v1/audit", pageQuery(q, opts.Cursor, opts.Limit), nil, &out)
	return out, err
}

// AllAudit iterates over every event that matches f, newest first. It stops
// at the first error, which it yields.
func (c *Client) AllAudit(ctx context.Context, f AuditFilter) iter.Seq2[AuditEvent, error] {
	return all(ctx, ListOptions{Limit: 1000}, func(ctx context.Context, o ListOptions) ([]AuditEvent, string, error) {
		p, err := c.ListAudit(ctx, f, o)
		return p.Events, p.NextCursor, err
	})
}

// VerifyAudit has the hub walk the organization's audit hash chain (GET
// /v1/audit/verify) and report the first event that does not hold.
func (c *Client) VerifyAudit(ctx context.Context) (AuditVerification, error) {
	var out AuditVerification
	err := c.do(ctx, http.MethodGet, "/v1/audit/verify", nil, nil, &out)
	return out, err
}
