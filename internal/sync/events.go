package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/connhub/connhub/internal/store"
)

// ApplyEvent brings the records an event of Slack's Events API concerns up
// to date without a sync, for an instance that has synced the stream
// before: users on user_change and team_join (the event carries the whole
// user, drawn as users.list draws it). A record it writes is marked seen by
// eventID (the record's SeenRunID), so that it says which event changed
// it; one the event is older than (its "updated" is before the record's) is
// left alone, as Slack may deliver events late and more than once. It
// returns the streams it changed: none for an event no stream keeps fresh
// (yet: the other streams' events are issue 14's next step).
func (s *Service) ApplyEvent(ctx context.Context, in store.Instance, eventID string, event json.RawMessage) ([]string, error) {
	var ev struct {
		Type string          `json:"type"`
		User json.RawMessage `json:"user"`
	}
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("sync: an event that is not an object: %w", err)
	}
	switch ev.Type {
	case "user_change", "team_join":
		var u struct {
			ID      string          `json:"id"`
			TeamID  string          `json:"team_id"`
			Updated json.RawMessage `json:"updated"`
		}
		if err := json.Unmarshal(ev.User, &u); err != nil || u.ID == "" {
			return nil, fmt.Errorf("sync: a %s event without a user", ev.Type)
		}
		rec := store.Record{Key: u.ID, TeamID: u.TeamID, Data: ev.User, SourceUpdatedAt: unix(u.Updated)}
		if rec.TeamID == "" {
			rec.TeamID = in.TeamID
		}
		return s.freshen(ctx, in, "users", eventID, rec)
	}
	return nil, nil
}

// freshen writes rec into stream from an event, if the instance has synced
// the stream and the record is not newer than the event.
func (s *Service) freshen(ctx context.Context, in store.Instance, stream, eventID string, rec store.Record) ([]string, error) {
	if _, err := s.store.GetCheckpoint(ctx, in.OrgID, in.ID, stream); errors.Is(err, store.ErrNotFound) {
		return nil, nil // never synced: an event makes no partial copy
	} else if err != nil {
		return nil, err
	}
	changed := false
	err := s.store.InTx(ctx, func(q store.Queries) error {
		old, err := q.GetRecord(ctx, in.OrgID, in.ID, stream, rec.Key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case !rec.SourceUpdatedAt.IsZero() && old.SourceUpdatedAt.After(rec.SourceUpdatedAt):
			return nil // the record is newer than the event
		}
		_, err = q.UpsertRecords(ctx, in.OrgID, in.ID, stream, eventID, []store.Record{rec})
		changed = err == nil
		return err
	})
	if err != nil || !changed {
		return nil, err
	}
	s.log.Debug("sync: a record kept fresh by an event", "instance", in.ID, "stream", stream, "key", rec.Key, "event", eventID)
	return []string{stream}, nil
}
