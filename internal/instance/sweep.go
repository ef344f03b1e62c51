package instance

import (
	"context"
	"errors"
	"time"

	"github.com/connhub/connhub/internal/store"
)

// SweepGrace is how long after an install's last link expired the sweeper
// fails it, and how long an expired OAuth state is kept: long enough for a
// callback that arrived just in time to finish exchanging its code.
const SweepGrace = time.Minute

// sweepBatch bounds the installs one sweep expires; the next sweep takes the rest.
const sweepBatch = 500

// ExpiredReason is the StatusReason of an install the sweeper expired.
const ExpiredReason = "install_expired: nobody consented at Slack before the authorize URL expired; re-authenticate for a new one"

// Swept is what one sweep did.
type Swept struct {
	Expired int // pending instances expired because every authorize URL of theirs did
	States  int // expired OAuth states deleted
}

var errNotPending = errors.New("the instance is no longer pending")

// SweepExpired expires the pending instances that no OAuth state can complete
// any more (every state of theirs expired over SweepGrace ago), then deletes
// the OAuth states that expired over SweepGrace ago. Replicas may sweep at
// once: an instance that left pending meanwhile is left alone.
func (s *Service) SweepExpired(ctx context.Context) (Swept, error) {
	var out Swept
	cutoff := s.now().Add(-SweepGrace)
	refs, err := s.store.ExpiredInstalls(ctx, cutoff, sweepBatch)
	if err != nil {
		return out, err
	}
	for _, ref := range refs {
		inst, err := s.store.UpdateInstance(ctx, ref.OrgID, ref.ID, func(i *store.Instance) error {
			if i.Status != store.StatusPending {
				return errNotPending
			}
			i.Status, i.StatusReason, i.LastAuthError = store.StatusExpired, ExpiredReason, ExpiredReason
			return nil
		})
		switch {
		case errors.Is(err, errNotPending), errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return out, err
		}
		out.Expired++
		s.auditSystem(ctx, inst, "instance.install_expired", map[string]any{"code": "install_expired"})
	}
	if out.States, err = s.store.DeleteExpiredOAuthStates(ctx, cutoff); err != nil {
		return out, err
	}
	return out, nil
}

// RunSweeper sweeps once, then at every tick, until ctx is done (serve ticks
// it every minute; tests tick it by hand). Failures are logged.
func (s *Service) RunSweeper(ctx context.Context, ticks <-chan time.Time) {
	for {
		swept, err := s.SweepExpired(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("instance: sweep expired installs", "err", err)
		case swept.Expired > 0 || swept.States > 0:
			s.log.Info("instance: swept expired installs", "expired", swept.Expired, "states_deleted", swept.States)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
	}
}
