package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// ScheduleInput sets an instance's sync schedule.
type ScheduleInput struct {
	Every   time.Duration // at least 15 minutes
	Streams []string      // empty: the default streams
	Options Options
	Enabled bool
}

// Schedule is an instance's sync schedule.
type Schedule struct {
	store.SyncSchedule
	Opts Options
}

// MinInterval is the shortest schedule: Slack's limits make shorter ones
// pointless for a full walk of a workspace.
const MinInterval = 15 * time.Minute

// SetSchedule creates or replaces an instance's schedule. The first run is
// one interval from now.
func (s *Service) SetSchedule(ctx context.Context, p tenant.Principal, instanceID string, in ScheduleInput) (Schedule, error) {
	if err := authz.Allow(p, authz.ScheduleSyncs, instanceID); err != nil {
		return Schedule{}, err
	}
	if in.Every < MinInterval {
		return Schedule{}, apierror.New(http.StatusBadRequest, "invalid_schedule", fmt.Sprintf("a schedule runs at most every %s", MinInterval))
	}
	if err := in.Options.validate(); err != nil {
		return Schedule{}, err
	}
	if in.Options.JoinPublicChannels {
		inst, err := s.store.GetInstance(ctx, p.Org.ID, instanceID)
		if errors.Is(err, store.ErrNotFound) {
			return Schedule{}, apierror.New(http.StatusNotFound, "not_found", "there is no instance "+instanceID)
		} else if err != nil {
			return Schedule{}, err
		}
		if err := in.Options.checkJoin(inst); err != nil {
			return Schedule{}, err
		}
	}
	names, err := resolveStreams(in.Streams)
	if err != nil {
		return Schedule{}, err
	}
	if len(in.Streams) == 0 {
		names = nil // the default streams of the day the run starts
	}
	opts, _ := json.Marshal(in.Options)
	var sc store.SyncSchedule
	err = s.store.InTx(ctx, func(q store.Queries) (err error) {
		sc, err = q.PutSyncSchedule(ctx, store.SyncSchedule{OrgID: p.Org.ID, InstanceID: instanceID, Interval: in.Every.Truncate(time.Second),
			Streams: names, Options: opts, Enabled: in.Enabled, NextRunAt: s.now().Add(in.Every)})
		if err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "sync.schedule.set", TargetType: "instance", TargetID: instanceID,
			Details: map[string]any{"every": in.Every.String(), "enabled": in.Enabled, "streams": names}})
	})
	if errors.Is(err, store.ErrNotFound) {
		return Schedule{}, apierror.New(http.StatusNotFound, "not_found", "there is no instance "+instanceID)
	}
	if err != nil {
		return Schedule{}, err
	}
	return scheduleView(sc), nil
}

func scheduleView(sc store.SyncSchedule) Schedule {
	v := Schedule{SyncSchedule: sc}
	json.Unmarshal(sc.Options, &v.Opts)
	return v
}

// GetSchedule shows an instance's schedule.
func (s *Service) GetSchedule(ctx context.Context, p tenant.Principal, instanceID string) (Schedule, error) {
	if err := authz.Allow(p, authz.ReadSyncs, instanceID); err != nil {
		return Schedule{}, err
	}
	sc, err := s.store.GetSyncSchedule(ctx, p.Org.ID, instanceID)
	if errors.Is(err, store.ErrNotFound) {
		return Schedule{}, apierror.New(http.StatusNotFound, "not_found", "the instance has no sync schedule")
	}
	if err != nil {
		return Schedule{}, err
	}
	return scheduleView(sc), nil
}

// DeleteSchedule removes an instance's schedule.
func (s *Service) DeleteSchedule(ctx context.Context, p tenant.Principal, instanceID string) error {
	if err := authz.Allow(p, authz.ScheduleSyncs, instanceID); err != nil {
		return err
	}
	err := s.store.InTx(ctx, func(q store.Queries) error {
		if err := q.DeleteSyncSchedule(ctx, p.Org.ID, instanceID); err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "sync.schedule.delete", TargetType: "instance", TargetID: instanceID})
	})
	if errors.Is(err, store.ErrNotFound) {
		return apierror.New(http.StatusNotFound, "not_found", "the instance has no sync schedule")
	}
	return err
}

// startDue starts a run for each schedule that is due. A replica claims a
// schedule by moving its next run on (a versioned update), so that of
// several replicas sweeping at once, one starts the run. A due schedule
// whose instance has an unfinished run skips this time, without error.
func (s *Service) startDue(ctx context.Context) {
	due, err := s.store.ListDueSyncSchedules(ctx, s.now(), 100)
	if err != nil {
		s.log.Warn("sync: list due schedules", "err", err)
		return
	}
	for _, sc := range due {
		claimed := false
		_, err := s.store.UpdateSyncSchedule(ctx, sc.OrgID, sc.InstanceID, func(cur *store.SyncSchedule) error {
			if cur.Version != sc.Version || !cur.Enabled || cur.NextRunAt.After(s.now()) {
				return nil // another replica claimed it
			}
			cur.NextRunAt = s.now().Add(cur.Interval)
			claimed = true
			return nil
		})
		if err != nil || !claimed {
			continue
		}
		var opts Options
		json.Unmarshal(sc.Options, &opts)
		run, err := s.Start(ctx, audit.System(sc.OrgID), sc.InstanceID, StartInput{Streams: sc.Streams, Options: opts, Trigger: "schedule"})
		var problem *apierror.Problem
		if errors.As(err, &problem) && problem.Code == "sync_in_progress" {
			// The instance's last run has not finished: this one is
			// skipped, and the schedule waits for its next time.
			s.log.Info("sync: a scheduled sync skipped: the instance has an unfinished run", "instance", sc.InstanceID, "err", err)
			continue
		}
		if err != nil {
			s.log.Warn("sync: a scheduled sync did not start", "instance", sc.InstanceID, "err", err)
			continue
		}
		s.store.UpdateSyncSchedule(ctx, sc.OrgID, sc.InstanceID, func(cur *store.SyncSchedule) error {
			cur.LastRunID = run.ID
			return nil
		})
	}
}
