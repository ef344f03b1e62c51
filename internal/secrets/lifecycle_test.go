package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
)

func TestKeyFilePrimaryLine(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t, "k1", 1), newKey(t, "k2", 2)
	for _, tc := range []struct {
		name, input string
		primary     string // PrimaryID; "" for an error
		says        string
	}{
		{"no primary line: the last key seals", k1.String() + "\n" + k2.String() + "\n", "k2", ""},
		{"a primary line names an older key", k1.String() + "\n" + k2.String() + "\nprimary = k1\n", "k1", ""},
		{"the primary line may come first, spaces optional", "primary=k2\n" + k1.String() + "\n" + k2.String(), "k2", ""},
		{"two primary lines", k1.String() + "\nprimary = k1\nprimary = k1\n", "", "a second primary line"},
		{"a primary that is no key of the file", k1.String() + "\nprimary = k9\n", "", `"k9" is not in the file`},
		{"an invalid primary ID", k1.String() + "\nprimary = a b\n", "", "primary key ID is not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, err := secrets.ParseKeyFile(tc.input)
			if tc.primary == "" {
				if err == nil || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("got %v, want an error saying %q", err, tc.says)
				}
				return
			}
			if err != nil || set.PrimaryID() != tc.primary || len(set.Keys) != 2 && !strings.Contains(tc.name, "two") {
				t.Fatalf("got %v primary %q, %v; want primary %q", set.IDs(), set.PrimaryID(), err, tc.primary)
			}
			ring, err := set.Keyring()
			if err != nil || ring.Primary() != tc.primary {
				t.Errorf("ring seals with %q (%v), want %q", ring.Primary(), err, tc.primary)
			}
		})
	}
	// The environment's format has no primary line: the last key seals there.
	if _, err := secrets.ParseKeys(k1.String() + "\nprimary = k1\n"); err == nil || !strings.Contains(err.Error(), "belongs in a key file") {
		t.Errorf("ParseKeys with a primary line: got %v, want it refused", err)
	}
}

func TestPromoteAndRemoveKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys")
	first, err := secrets.CreateKeyFile(path, testNow)
	if err != nil {
		t.Fatal(err)
	}
	added, err := secrets.AppendKey(path, testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	primary := func() string {
		t.Helper()
		set, err := secrets.LoadKeySet(path)
		if err != nil {
			t.Fatal(err)
		}
		return set.PrimaryID()
	}
	if got := primary(); got != first[0].ID {
		t.Fatalf("after AppendKey the primary is %q, want the old key %q", got, first[0].ID)
	}
	if err := secrets.PromoteKey(path, "k-none", testNow); err == nil || !strings.Contains(err.Error(), "holds no key") {
		t.Errorf("promoting a key the file lacks: got %v", err)
	}
	if err := secrets.PromoteKey(path, added.ID, testNow); err != nil || primary() != added.ID {
		t.Fatalf("PromoteKey: %v, primary %q, want %q", err, primary(), added.ID)
	}
	if err := secrets.RemoveKey(path, added.ID); err == nil || !strings.Contains(err.Error(), "primary") {
		t.Errorf("removing the primary: got %v, want it refused", err)
	}
	if err := secrets.RemoveKey(path, first[0].ID); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	set, err := secrets.ParseKeyFile(string(data))
	if err != nil || !slices.Equal(set.IDs(), []string{added.ID}) || set.PrimaryID() != added.ID {
		t.Fatalf("after RemoveKey: %v primary %q (%v); want only %s", set.IDs(), set.PrimaryID(), err, added.ID)
	}
	if n := strings.Count(string(data), "\nprimary ="); n != 1 {
		t.Errorf("the file has %d primary lines, want 1:\n%s", n, data)
	}
	if n := strings.Count(string(data), "# added "); n != 1 {
		t.Errorf("the removed key's comment is left behind (%d '# added' lines):\n%s", n, data)
	}
	if !strings.HasPrefix(string(data), "# connhub encryption keys") {
		t.Errorf("the header is gone:\n%s", data)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", info.Mode().Perm())
	}
}

func TestRemoveKeyFromALineOfSeveral(t *testing.T) {
	t.Parallel()
	k1, k2, k3 := newKey(t, "k1", 1), newKey(t, "k2", 2), newKey(t, "k3", 3)
	path := writeFile(t, k1.String()+", "+k2.String()+"\n"+k3.String()+"\n", 0o600)
	if err := secrets.RemoveKey(path, "k2"); err != nil {
		t.Fatal(err)
	}
	set, err := secrets.LoadKeySet(path)
	if err != nil || !slices.Equal(set.IDs(), []string{"k1", "k3"}) || set.PrimaryID() != "k3" {
		t.Errorf("got %v primary %q (%v), want k1, k3 with k3 primary", set.IDs(), set.PrimaryID(), err)
	}
}

func TestKeyringReplace(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t, "k1", 1), newKey(t, "k2", 2)
	ring := setup(t, k1)
	sealed, err := ring.Seal([]byte("v"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Replace(secrets.KeySet{Keys: []secrets.Key{k1, k2}, Primary: "k9"}); err == nil {
		t.Fatal("Replace accepted a primary that is no key")
	}
	if ring.Primary() != "k1" || ring.Has("k2") {
		t.Errorf("a failed Replace changed the ring: %v", ring)
	}
	if err := ring.Replace(secrets.KeySet{Keys: []secrets.Key{k1, k2}, Primary: "k2"}); err != nil {
		t.Fatal(err)
	}
	if p, err := ring.Open(sealed, []byte("aad")); err != nil || string(p) != "v" {
		t.Errorf("after Replace the old value: %q, %v", p, err)
	}
	again, err := ring.Seal([]byte("v"), []byte("aad"))
	if id, _ := secrets.SealedKeyID(again); err != nil || id != "k2" {
		t.Errorf("after Replace Seal used %q (%v), want k2", id, err)
	}
}

func TestOpenAsksOnceForAnUnknownKey(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(t, "k1", 1), newKey(t, "k2", 2)
	sealed, err := setup(t, k2).Seal([]byte("v"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ring := setup(t, k1)
	var asked []string
	ring.OnUnknownKey(func(id string) bool { asked = append(asked, id); return false })
	if _, err := ring.Open(sealed, nil); !errors.Is(err, secrets.ErrUnknownKey) || !slices.Equal(asked, []string{"k2"}) {
		t.Fatalf("got %v after asking %v; want ErrUnknownKey after asking once for k2", err, asked)
	}
	ring.OnUnknownKey(func(id string) bool { return ring.Replace(secrets.KeySet{Keys: []secrets.Key{k1, k2}}) == nil })
	if p, err := ring.Open(sealed, nil); err != nil || string(p) != "v" {
		t.Errorf("after the handler added the key: %q, %v", p, err)
	}
}

// reloadEnv is a key file, a ring loaded from it and a Reloader watching it,
// with a clock the test moves and the reloader's log.
type reloadEnv struct {
	path   string
	ring   *secrets.Keyring
	r      *secrets.Reloader
	logs   *lockedBuffer
	now    time.Time
	mu     sync.Mutex
	used   map[string]int // values sealed per key, for StillUsed
	change int            // OnChange calls
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func setupReload(t *testing.T) *reloadEnv {
	t.Helper()
	e := &reloadEnv{path: filepath.Join(t.TempDir(), "keys"), logs: &lockedBuffer{}, now: testNow, used: map[string]int{}}
	if _, err := secrets.CreateKeyFile(e.path, testNow); err != nil {
		t.Fatal(err)
	}
	set, err := secrets.LoadKeySet(e.path)
	if err != nil {
		t.Fatal(err)
	}
	if e.ring, err = set.Keyring(); err != nil {
		t.Fatal(err)
	}
	e.r = secrets.NewReloader(e.path, e.ring, secrets.ReloaderOptions{
		Log: slog.New(slog.NewTextHandler(e.logs, nil)),
		Now: func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now },
		StillUsed: func(ctx context.Context, ids []string) (map[string]int, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.used, nil
		},
		OnChange: func() { e.mu.Lock(); e.change++; e.mu.Unlock() },
	})
	return e
}

// tick runs the reloader for one tick and waits until it handled it.
func (e *reloadEnv) tick(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time) // unbuffered: the send returns once Run took it
	done := make(chan struct{})
	go func() { e.r.Run(ctx, ticks, nil); close(done) }()
	ticks <- testNow
	ticks <- testNow // the second send waits for the first tick's reload to finish
	cancel()
	<-done
}

func TestReloaderPicksUpAddedAndPromotedKeys(t *testing.T) {
	t.Parallel()
	e := setupReload(t)
	old := e.ring.Primary()
	added, err := secrets.AppendKey(e.path, testNow)
	if err != nil {
		t.Fatal(err)
	}
	e.tick(t)
	if !e.ring.Has(added.ID) || e.ring.Primary() != old || e.change != 1 {
		t.Fatalf("after a tick: %v, %d changes; want %s added and %s still primary", e.ring, e.change, added.ID, old)
	}
	e.tick(t) // nothing changed: no reload
	if e.change != 1 {
		t.Errorf("a tick on an unchanged file reloaded (%d changes)", e.change)
	}
	if err := secrets.PromoteKey(e.path, added.ID, testNow); err != nil {
		t.Fatal(err)
	}
	e.tick(t)
	if e.ring.Primary() != added.ID {
		t.Errorf("after promote and a tick the ring seals with %s, want %s", e.ring.Primary(), added.ID)
	}
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("errors logged: %s", e.logs)
	}
}

func TestReloaderKeepsTheRingWhenTheFileIsBad(t *testing.T) {
	t.Parallel()
	e := setupReload(t)
	before := e.ring.String()
	if err := os.Chmod(e.path, 0o644); err != nil {
		t.Fatal(err)
	}
	e.tick(t)
	e.tick(t)
	if e.ring.String() != before {
		t.Errorf("a bad file changed the ring: %v, want %v", e.ring, before)
	}
	if n := strings.Count(e.logs.String(), "could not be reloaded"); n != 1 || !strings.Contains(e.logs.String(), "chmod 600") {
		t.Errorf("logged %d failures, want one naming the fix:\n%s", n, e.logs)
	}
	// An explicit reload (SIGHUP) tries again, and says so again.
	if _, err := e.r.Reload(context.Background()); err == nil {
		t.Error("Reload of a bad file succeeded")
	}
	os.Chmod(e.path, 0o600)
	if changed, err := e.r.Reload(context.Background()); err != nil || changed {
		t.Errorf("the fixed file, unchanged in content: changed %v, %v", changed, err)
	}
}

func TestReloaderRefusesToDropAKeyStillInUse(t *testing.T) {
	t.Parallel()
	e := setupReload(t)
	first := e.ring.Primary()
	added, err := secrets.AppendKey(e.path, testNow)
	if err != nil {
		t.Fatal(err)
	}
	e.tick(t)
	if err := secrets.PromoteKey(e.path, added.ID, testNow); err != nil {
		t.Fatal(err)
	}
	if err := secrets.RemoveKey(e.path, first); err != nil {
		t.Fatal(err)
	}
	e.used[first] = 3
	_, err = e.r.Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), first+" (3 values)") || !e.ring.Has(first) || e.ring.Primary() != first {
		t.Fatalf("dropping a key 3 values use: %v; ring %v; want refused and the ring unchanged", err, e.ring)
	}
	e.used[first] = 0
	if changed, err := e.r.Reload(context.Background()); err != nil || !changed || e.ring.Has(first) || e.ring.Primary() != added.ID {
		t.Errorf("once no value uses it: changed %v, %v, ring %v", changed, err, e.ring)
	}
}

func TestReloaderOnUnknownKey(t *testing.T) {
	t.Parallel()
	e := setupReload(t)
	// Another replica added and promoted a key and sealed with it; this
	// one's ticker has not seen the file change yet.
	added, err := secrets.AppendKey(e.path, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := secrets.PromoteKey(e.path, added.ID, testNow); err != nil {
		t.Fatal(err)
	}
	other, err := secrets.LoadKeySet(e.path)
	if err != nil {
		t.Fatal(err)
	}
	otherRing, err := other.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := otherRing.Seal([]byte("token"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 { // concurrent callers: one reload, every one opens
		wg.Go(func() {
			if p, err := e.ring.Open(sealed, nil); err != nil || string(p) != "token" {
				t.Errorf("Open after a missed file change: %q, %v", p, err)
			}
		})
	}
	wg.Wait()
	if e.change != 1 {
		t.Errorf("%d reloads for concurrent misses, want 1", e.change)
	}
	// A key nobody has: one reload per MissInterval at most.
	stranger, err := setup(t, newKey(t, "k-stranger", 9)).Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ring.Open(stranger, nil); !errors.Is(err, secrets.ErrUnknownKey) {
		t.Errorf("a key in no file: got %v, want ErrUnknownKey", err)
	}
	os.Chmod(e.path, 0o644) // a reload now would log a failure
	if _, err := e.ring.Open(stranger, nil); !errors.Is(err, secrets.ErrUnknownKey) || strings.Contains(e.logs.String(), "could not be reloaded") {
		t.Errorf("a second miss within the interval reloaded: %v\n%s", err, e.logs)
	}
	e.mu.Lock()
	e.now = e.now.Add(secrets.DefaultMissInterval)
	e.mu.Unlock()
	if _, err := e.ring.Open(stranger, nil); !errors.Is(err, secrets.ErrUnknownKey) || !strings.Contains(e.logs.String(), "could not be reloaded") {
		t.Errorf("a miss after the interval did not reload: %v\n%s", err, e.logs)
	}
}
