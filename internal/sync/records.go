package sync

import (
	"context"
	"errors"
	"net/http"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// allowed checks that the policy lets p do a to the instance, and that the
// instance exists: records of an instance that is not there are a wrong
// question, not an empty answer.
func (s *Service) allowed(ctx context.Context, p tenant.Principal, a authz.Action, instanceID string) error {
	if err := authz.Allow(p, a, instanceID); err != nil {
		return err
	}
	_, err := s.store.GetInstance(ctx, p.Org.ID, instanceID)
	if errors.Is(err, store.ErrNotFound) {
		return apierror.New(http.StatusNotFound, "not_found", "no such instance in your organization")
	}
	return err
}

// QueryRecords returns one page of a stream's records, as
// store.QueryRecords does, if the policy lets p read the instance's records.
// The page is answered only once its audit event (who, which stream, how
// many records) is written.
func (s *Service) QueryRecords(ctx context.Context, p tenant.Principal, instanceID, stream string, q store.RecordQuery) ([]store.Record, string, error) {
	if err := s.allowed(ctx, p, authz.ReadRecords, instanceID); err != nil {
		return nil, "", err
	}
	recs, next, err := s.store.QueryRecords(ctx, p.Org.ID, instanceID, stream, q)
	if err != nil {
		return nil, "", err
	}
	err = audit.Write(ctx, s.store, p, audit.Event{Action: "records.query", TargetType: "instance", TargetID: instanceID,
		Details: map[string]any{"stream": stream, "records": len(recs), "where": q.Where != nil}})
	if err != nil {
		return nil, "", err
	}
	return recs, next, nil
}

// Export is an export of a stream's records under way: its pages, read one
// at a time, and its end, which is audited with how many records it wrote.
type Export struct {
	s          *Service
	p          tenant.Principal
	instanceID string
	stream     string
	q          store.RecordQuery
	done       bool
}

// StartExport opens an export if the policy lets p export the instance's
// records, once its start is in the audit log.
func (s *Service) StartExport(ctx context.Context, p tenant.Principal, instanceID, stream, format string, q store.RecordQuery) (*Export, error) {
	if err := s.allowed(ctx, p, authz.ExportRecords, instanceID); err != nil {
		return nil, err
	}
	err := audit.Write(ctx, s.store, p, audit.Event{Action: "records.export", TargetType: "instance", TargetID: instanceID,
		Details: map[string]any{"stream": stream, "format": format, "where": q.Where != nil}})
	if err != nil {
		return nil, err
	}
	return &Export{s: s, p: p, instanceID: instanceID, stream: stream, q: q}, nil
}

// Next reads the next page; more is false after the last.
func (e *Export) Next(ctx context.Context) (recs []store.Record, more bool, err error) {
	if e.done {
		return nil, false, nil
	}
	recs, next, err := e.s.store.QueryRecords(ctx, e.p.Org.ID, e.instanceID, e.stream, e.q)
	if err != nil {
		return nil, false, err
	}
	e.q.Page.After, e.done = next, next == ""
	return recs, !e.done, nil
}

// Finish records how the export ended: n records written, and whether it
// broke off. The records are out by then, so a failure to record it is
// logged, not returned.
func (e *Export) Finish(ctx context.Context, n int64, broke bool) {
	outcome := audit.Success
	if broke {
		outcome = audit.Failure
	}
	err := audit.Write(context.WithoutCancel(ctx), e.s.store, e.p, audit.Event{Action: "records.export.end", TargetType: "instance", TargetID: e.instanceID,
		Outcome: outcome, Details: map[string]any{"stream": e.stream, "records": n}})
	if err != nil {
		e.s.log.Error("sync: audit the end of an export", "instance", e.instanceID, "stream", e.stream, "err", err)
	}
}
