package provision

import (
	"context"
	"maps"
	"sync"
)

// Status is where a change of a plan stands.
type Status string

const (
	// StatusStarted: the change is being sent. Found after a crash, it means
	// the outcome is unknown: Slack may or may not have acted on it.
	StatusStarted Status = "started"
	StatusDone    Status = "done"
	// StatusFailed: Slack refused the change (4xx); applying the plan again
	// sends it again.
	StatusFailed  Status = "failed"
	StatusSkipped Status = "skipped" // nothing left to send, or Slack may never do it
)

// final reports whether a change with this status is over for good: applying
// again does not send it.
func (s Status) final() bool { return s == StatusDone || s == StatusSkipped }

// Outcome is what became of one change.
type Outcome struct {
	Index  int    `json:"index"`
	Status Status `json:"status"`
	// ID is the Slack ID a create made or found, which later changes need.
	ID         string `json:"id,omitempty"`
	HTTPStatus int    `json:"http_status,omitempty"` // Slack's status for the last send
	Error      string `json:"error,omitempty"`       // Slack's error description (failed)
	// Note says why a change was skipped, how a done one was found done (an
	// earlier send was acted on), or which members a group change left out.
	Note     string `json:"note,omitempty"`
	Attempts int    `json:"attempts,omitempty"` // sends in the run that recorded it
}

// Progress keeps the outcomes of a plan's changes, so that a run can resume
// after a crash. A caller persists them (a table of outcomes by plan and
// index); MemoryProgress keeps them in memory.
type Progress interface {
	// Outcomes returns the latest outcome recorded for each change, by
	// index.
	Outcomes(ctx context.Context) (map[int]Outcome, error)
	// Record saves o as the latest outcome of change o.Index. Apply records
	// StatusStarted before it sends a change and the final status once Slack
	// answers, and sends nothing further for that change until Record has
	// returned: an outcome saved when Record returns survives a crash. An
	// error stops the run. Record may be called from several goroutines at
	// once.
	Record(ctx context.Context, o Outcome) error
}

// MemoryProgress is a Progress in memory, for tests and for runs that need
// not survive the process.
type MemoryProgress struct {
	mu       sync.Mutex
	outcomes map[int]Outcome
}

// NewMemoryProgress returns an empty MemoryProgress.
func NewMemoryProgress() *MemoryProgress { return &MemoryProgress{outcomes: map[int]Outcome{}} }

// Outcomes implements Progress.
func (m *MemoryProgress) Outcomes(context.Context) (map[int]Outcome, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.outcomes), nil
}

// Record implements Progress.
func (m *MemoryProgress) Record(_ context.Context, o Outcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outcomes[o.Index] = o
	return nil
}

// Outcome returns the latest outcome of change index; the zero Outcome if
// there is none.
func (m *MemoryProgress) Outcome(index int) Outcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.outcomes[index]
}
