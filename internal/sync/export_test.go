package sync

import "context"

// StartDue starts the runs of due schedules, as a sweep does: for tests
// that want the schedules' part of a sweep without waiting for one.
func (s *Service) StartDue(ctx context.Context) { s.startDue(ctx) }
