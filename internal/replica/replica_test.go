package replica_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/replica"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/store/sqlite"
	"github.com/connhub/connhub/internal/store/storetest"
)

var ctx = context.Background()

func setup(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "connhub.db"), storetest.Keys(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls the live replicas until ok holds for them.
func waitFor(t *testing.T, s store.Store, now time.Time, ok func([]store.Replica) bool) []store.Replica {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		live, err := replica.Live(ctx, s, now)
		if err != nil {
			t.Fatal(err)
		}
		if ok(live) {
			return live
		}
		if time.Now().After(deadline) {
			t.Fatalf("the live replicas never reached the state wanted; last: %+v", live)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHeartbeatReportsTheRingAndLeavesOnStop(t *testing.T) {
	t.Parallel()
	s := setup(t)
	k1, _ := secrets.GenerateKey(time.Now())
	k2, _ := secrets.GenerateKey(time.Now().Add(time.Second))
	ring, err := secrets.NewKeyring([]secrets.Key{k1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	hb := replica.New(s, ring, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// A heartbeat from a day and a minute ago: removed when a replica starts.
	if err := s.PutReplica(ctx, store.Replica{ID: "gone", KeyIDs: []string{k1.ID}, PrimaryKey: k1.ID, SeenAt: now.Add(-25 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { hb.Run(runCtx, nil); close(done) }() // no ticker: beats at start and on Poke only
	waitFor(t, s, now, func(rs []store.Replica) bool {
		return len(rs) == 1 && rs[0].ID == hb.ID() && slices.Equal(rs[0].KeyIDs, []string{k1.ID}) && rs[0].PrimaryKey == k1.ID
	})
	if all, _ := s.ListReplicas(ctx, time.Time{}); len(all) != 1 {
		t.Errorf("the day-old heartbeat is still there: %+v", all)
	}
	// The ring changes; a Poke reports it without waiting for a tick.
	if err := ring.Replace(secrets.KeySet{Keys: []secrets.Key{k1, k2}, Primary: k2.ID}); err != nil {
		t.Fatal(err)
	}
	hb.Poke()
	live := waitFor(t, s, now, func(rs []store.Replica) bool { return len(rs) == 1 && rs[0].PrimaryKey == k2.ID })
	if got := replica.Lacking(live, k2.ID); len(got) != 0 {
		t.Errorf("Lacking(%s) = %v, want none", k2.ID, got)
	}
	if got := replica.Lacking(live, "k-other"); !slices.Equal(got, []string{hb.ID()}) {
		t.Errorf("Lacking(k-other) = %v, want %s", got, hb.ID())
	}
	if got := replica.SealingWith(live, k1.ID, false); len(got) != 0 {
		t.Errorf("SealingWith(%s) = %v, want none", k1.ID, got)
	}
	if got := replica.SealingWith(live, k2.ID, true); len(got) != 0 {
		t.Errorf("sealing with another key than %s: %v, want none", k2.ID, got)
	}
	// Not live once its heartbeat is older than the window.
	if live, _ := replica.Live(ctx, s, now.Add(replica.LiveWindow+time.Millisecond)); len(live) != 0 {
		t.Errorf("a heartbeat older than LiveWindow is still live: %+v", live)
	}
	stop()
	<-done
	if all, _ := s.ListReplicas(ctx, time.Time{}); len(all) != 0 {
		t.Errorf("after a clean stop the heartbeat is still there: %+v", all)
	}
}
