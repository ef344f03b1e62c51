package replica

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

const (
	// HeartbeatInterval is how often a replica writes its heartbeat.
	HeartbeatInterval = 5 * time.Second
	// LiveWindow is how recent a heartbeat must be for its replica to count
	// as live.
	LiveWindow = 6 * HeartbeatInterval
	// forgetAfter is how old a heartbeat is when a starting replica removes
	// it: its replica is long gone.
	forgetAfter = 24 * time.Hour
)

// Heartbeat writes one replica's heartbeats.
type Heartbeat struct {
	id    string
	store store.Store
	keys  *secrets.Keyring
	now   func() time.Time
	log   *slog.Logger
	poke  chan struct{}
}

// New makes the heartbeat of a replica that serves from s with keys. Its ID
// is the host name and a unique suffix, so that an operator can tell which
// machine a refusal names. now is the clock (time.Now when nil); log gets one
// line per new failure.
func New(s store.Store, keys *secrets.Keyring, now func() time.Time, log *slog.Logger) *Heartbeat {
	if now == nil {
		now = time.Now
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	return &Heartbeat{id: host + "-" + store.NewID("r"), store: s, keys: keys, now: now, log: log, poke: make(chan struct{}, 1)}
}

// ID is the replica's ID, as its heartbeats name it.
func (h *Heartbeat) ID() string { return h.id }

// Beat writes a heartbeat now: the ring's keys and primary as they are.
func (h *Heartbeat) Beat(ctx context.Context) error {
	ids, primary := h.keys.Snapshot()
	return h.store.PutReplica(ctx, store.Replica{ID: h.id, KeyIDs: ids, PrimaryKey: primary, SeenAt: h.now()})
}

// Poke asks Run for a heartbeat now (after the key ring changed), without
// waiting for it.
func (h *Heartbeat) Poke() {
	select {
	case h.poke <- struct{}{}:
	default:
	}
}

// Run beats once at once (removing heartbeats older than a day first), then
// on every tick and Poke, until ctx ends; then it removes its row, so that a
// replica stopped cleanly stops counting at once. A failed beat is logged
// (once until one succeeds again) and retried at the next tick.
func (h *Heartbeat) Run(ctx context.Context, ticks <-chan time.Time) {
	if _, err := h.store.DeleteReplicas(ctx, "", h.now().Add(-forgetAfter)); err != nil {
		h.log.Warn("replica: remove old heartbeats", "err", err)
	}
	failing := ""
	beat := func() {
		err := h.Beat(ctx)
		switch {
		case err == nil && failing != "":
			h.log.Info("replica: heartbeats written again", "replica", h.id)
			failing = ""
		case err != nil && ctx.Err() == nil && err.Error() != failing:
			h.log.Warn("replica: heartbeat not written; `connhub keys promote` will not see this replica's keys until it is", "replica", h.id, "err", err)
			failing = err.Error()
		}
	}
	beat()
	for {
		select {
		case <-ctx.Done():
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := h.store.DeleteReplicas(stop, h.id, time.Time{}); err != nil {
				h.log.Warn("replica: remove the heartbeat on stop", "replica", h.id, "err", err)
			}
			return
		case <-ticks:
			beat()
		case <-h.poke:
			beat()
		}
	}
}

// Live lists the replicas whose heartbeat is younger than LiveWindow at now.
func Live(ctx context.Context, s store.Store, now time.Time) ([]store.Replica, error) {
	rs, err := s.ListReplicas(ctx, now.Add(-LiveWindow))
	if err != nil {
		return nil, fmt.Errorf("replica: live replicas: %w", err)
	}
	return rs, nil
}

// Lacking lists the IDs of the replicas that do not hold the key keyID.
func Lacking(rs []store.Replica, keyID string) []string {
	var ids []string
	for _, r := range rs {
		if !slices.Contains(r.KeyIDs, keyID) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// SealingWith lists the IDs of the replicas whose primary is keyID, or, with
// not, whose primary is another key.
func SealingWith(rs []store.Replica, keyID string, not bool) []string {
	var ids []string
	for _, r := range rs {
		if (r.PrimaryKey == keyID) != not {
			ids = append(ids, r.ID)
		}
	}
	return ids
}
