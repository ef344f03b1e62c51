package hubtest

import (
	"testing"
	"time"
)

// Eventually waits for cond, looking every few milliseconds, for at most a
// minute, and fails the test after that: a deadline for a loaded machine,
// never a timing.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Backends runs test in parallel subtests on SQLite, and on PostgreSQL
// (Options.Postgres: skipped where CONNHUB_TEST_POSTGRES is unset).
func Backends(t *testing.T, test func(t *testing.T, postgres bool)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, pg)
		})
	}
}
