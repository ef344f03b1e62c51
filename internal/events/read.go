package events

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Reading the kept events: what a principal may see of them is what it may
// see of the instances they were routed to (authz.ReadRecords); an event
// routed to no instance, only an organization's admin sees
// (authz.ReadUnroutedEvents).

// Filter chooses events: those routed to any of InstanceIDs (none: to any
// instance the reader may read), of any of Types (none: of every type).
type Filter struct {
	InstanceIDs []string
	Types       []string
}

// maxFilter bounds the instances and the types a filter names.
const maxFilter = 100

// List lists the events routed to instance id, in order of receipt, for a
// principal that may read its records.
func (s *Service) List(ctx context.Context, p tenant.Principal, id string, f store.SlackEventFilter, page store.Page) ([]store.SlackEvent, string, error) {
	if strings.TrimSpace(id) == "" || strings.Contains(id, ",") {
		return nil, "", apierror.New(http.StatusNotFound, "not_found", "no such instance in your organization")
	}
	sight, err := s.sight(ctx, p, Filter{InstanceIDs: []string{id}})
	if err != nil {
		return nil, "", err
	}
	f.InstanceIDs = sight.InstanceIDs
	evs, next, err := s.store.ListSlackEvents(ctx, p.Org.ID, f, page)
	return seenBy(p, evs), next, err
}

// Recent returns the newest events, at most limit, that p may see and f
// selects, among those a stream would have sent by now (see Stream); and
// the place a stream goes on from after them (StreamInput.After), missing
// none and repeating none: the newest one's ID, or when there is none, the
// end of what was looked at.
func (s *Service) Recent(ctx context.Context, p tenant.Principal, f Filter, limit int) ([]store.SlackEvent, string, error) {
	sight, err := s.sight(ctx, p, f)
	if err != nil {
		return nil, "", err
	}
	end, err := s.settled(ctx, p.Org.ID)
	if err != nil {
		return nil, "", err
	}
	evs, err := s.store.ScanSlackEvents(ctx, p.Org.ID, store.SlackEventScan{SlackEventFilter: sight, Before: end, Newest: true, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	if len(evs) > 0 {
		return seenBy(p, evs), evs[0].ID, nil
	}
	// Every event before end is looked at: none before it matches. (At a
	// place within a millisecond, the events of that millisecond before it
	// do not match either.)
	return nil, placeAt(end.ReceivedAt), nil
}

// sight is the part of the organization's events that p may see, narrowed
// by f: the events of the instances f names (each one p may read), else of
// the instance p is bound to, else of every instance, and those of none
// too for who may see them.
func (s *Service) sight(ctx context.Context, p tenant.Principal, f Filter) (store.SlackEventFilter, error) {
	if err := authz.Allow(p, authz.ReadRecords, ""); err != nil {
		return store.SlackEventFilter{}, err
	}
	ids, types := clean(f.InstanceIDs), clean(f.Types)
	if len(ids) > maxFilter || len(types) > maxFilter {
		return store.SlackEventFilter{}, apierror.New(http.StatusBadRequest, "invalid_filter",
			fmt.Sprintf("name at most %d instances and %d types", maxFilter, maxFilter))
	}
	sight := store.SlackEventFilter{Types: types}
	bound := authz.BoundInstance(p)
	switch {
	case len(ids) > 0:
		for _, id := range ids {
			if err := authz.Allow(p, authz.ReadRecords, id); err != nil {
				return store.SlackEventFilter{}, err
			}
			if _, err := s.store.GetInstance(ctx, p.Org.ID, id); errors.Is(err, store.ErrNotFound) {
				return store.SlackEventFilter{}, apierror.New(http.StatusNotFound, "not_found", fmt.Sprintf("no instance %s in your organization", id))
			} else if err != nil {
				return store.SlackEventFilter{}, err
			}
		}
		sight.InstanceIDs = ids
	case bound != "":
		sight.InstanceIDs = []string{bound}
	case authz.KindOf(p) == authz.Instance:
		// Bound to no instance it can name: nothing to see.
		return store.SlackEventFilter{}, apierror.New(http.StatusForbidden, "forbidden", "these credentials are bound to no instance")
	case authz.Allow(p, authz.ReadUnroutedEvents, "") != nil:
		sight.Routed = true
	}
	return sight, nil
}

// sees reports whether an event is in sight.
func sees(sight store.SlackEventFilter, e store.SlackEvent) bool {
	switch {
	case len(sight.InstanceIDs) > 0:
		return slices.ContainsFunc(e.InstanceIDs, func(id string) bool { return slices.Contains(sight.InstanceIDs, id) })
	case sight.Routed:
		return len(e.InstanceIDs) > 0
	}
	return true
}

// seenBy leaves out of each event the instances it was routed to that p
// does not know: a principal bound to an instance is told of no other.
func seenBy(p tenant.Principal, evs []store.SlackEvent) []store.SlackEvent {
	bound := authz.BoundInstance(p)
	if bound == "" {
		return evs
	}
	for i := range evs {
		evs[i].InstanceIDs = slices.DeleteFunc(evs[i].InstanceIDs, func(id string) bool { return id != bound })
	}
	return evs
}

// clean drops empty and repeated values, and splits comma-separated ones
// (instance_id=a,b as well as instance_id=a&instance_id=b).
func clean(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" && !slices.Contains(out, part) {
				out = append(out, part)
			}
		}
	}
	return out
}
