package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultPollInterval is how often a server looks at its key file for
// changes.
const DefaultPollInterval = 2 * time.Second

// DefaultMissInterval is the least time between two reloads that values
// sealed with an unknown key ask for.
const DefaultMissInterval = time.Second

// ReloaderOptions configure a Reloader. All are optional.
type ReloaderOptions struct {
	// StillUsed counts the values sealed with each of ids. A new key file
	// that drops a key with values left is refused. Without it, dropping a
	// key is allowed.
	StillUsed func(ctx context.Context, ids []string) (map[string]int, error)
	// OnChange runs after each reload that changed the ring (a server
	// reports its keys at once).
	OnChange func()
	// Log gets one line per reload and per new failure; nil logs nothing.
	Log *slog.Logger
	// Now is the clock of the miss rate limit; time.Now by default.
	Now func() time.Time
	// MissInterval is the least time between reloads that unknown keys ask
	// for; DefaultMissInterval by default.
	MissInterval time.Duration
}

// Reloader keeps a Keyring in step with the key file it was loaded from, so
// that a running server picks up keys added, promoted and retired by the keys
// commands without a restart. It reloads when Run's ticker finds the file
// changed (size, modification time or content), when Run's signal channel
// fires (SIGHUP), and when Open meets a value sealed with a key the ring
// lacks (at most once per MissInterval, one reload at a time, the other
// callers waiting for its outcome).
//
// A reload that fails (the file unreadable, malformed or too open, or a key
// dropped that values in the database still use) keeps the keys the ring had,
// logs one line, and is not tried again from the ticker until the file
// changes once more. It never stops the server.
type Reloader struct {
	path string
	ring *Keyring
	o    ReloaderOptions

	mu       sync.Mutex // one reload at a time; guards the fields below
	loaded   fileSig    // the file as the ring holds it
	failed   fileSig    // the file as the last failed reload saw it
	lastErr  string     // the last failure logged
	lastMiss time.Time  // when an unknown key last made a reload
}

// fileSig is what tells that a file changed.
type fileSig struct {
	size    int64
	modTime time.Time
	sum     [sha256.Size]byte
}

// NewReloader watches path for ring, which was just loaded from it, and
// installs itself as the ring's OnUnknownKey.
func NewReloader(path string, ring *Keyring, o ReloaderOptions) *Reloader {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MissInterval <= 0 {
		o.MissInterval = DefaultMissInterval
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{path: path, ring: ring, o: o}
	if sig, _, err := r.read(); err == nil {
		r.loaded = sig
	}
	ring.OnUnknownKey(r.unknownKey)
	return r
}

// Run reloads on each tick (when the file changed) and on each signal (even
// when it did not, to retry a failed reload), until ctx ends. A nil channel
// never fires.
func (r *Reloader) Run(ctx context.Context, ticks <-chan time.Time, signals <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			r.reload(ctx, reloadTick, "key file changed")
		case <-signals:
			r.reload(ctx, reloadAsked, "signal")
		}
	}
}

// Reload reads the key file and, if it changed since the ring was loaded,
// replaces the ring's keys; it reports whether it did. A failure keeps the
// ring as it was.
func (r *Reloader) Reload(ctx context.Context) (bool, error) {
	return r.reload(ctx, reloadAsked, "asked")
}

// reloadKind says what asked for a reload: a tick skips a file that failed
// as it is; a miss retries it but logs a failure only when it is new; an
// explicit reload retries and logs.
type reloadKind int

const (
	reloadTick reloadKind = iota
	reloadMiss
	reloadAsked
)

// unknownKey is the ring's OnUnknownKey: it reloads the file, rate-limited,
// and reports whether the ring now holds id.
func (r *Reloader) unknownKey(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ring.Has(id) { // another caller's reload brought it
		return true
	}
	now := r.o.Now()
	if !r.lastMiss.IsZero() && now.Sub(r.lastMiss) < r.o.MissInterval {
		return false
	}
	r.lastMiss = now
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.reloadLocked(ctx, reloadMiss, "a value sealed with unknown key "+id)
	return r.ring.Has(id)
}

func (r *Reloader) reload(ctx context.Context, kind reloadKind, why string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reloadLocked(ctx, kind, why)
}

// reloadLocked reloads with r.mu held. The file's signature is taken from
// the bytes the ring is built from, so a file replaced while it is read is
// seen as changed at the next tick.
func (r *Reloader) reloadLocked(ctx context.Context, kind reloadKind, why string) (bool, error) {
	sig, set, err := r.read()
	if err == nil && sig.equal(r.loaded) {
		return false, nil
	}
	if err == nil && sig.equal(r.failed) && kind == reloadTick {
		return false, nil
	}
	if err == nil {
		err = r.vet(ctx, set)
	}
	if err == nil {
		err = r.ring.Replace(set)
	}
	if err != nil {
		r.failed = sig
		if msg := err.Error(); msg != r.lastErr || kind == reloadAsked {
			r.lastErr = msg
			r.o.Log.Error("secrets: the key file could not be reloaded; the keys loaded before stay in use", "key_file", r.path, "why", why, "err", err)
		}
		return false, err
	}
	r.loaded, r.failed, r.lastErr = sig, fileSig{}, ""
	r.o.Log.Info("secrets: reloaded the key file", "key_file", r.path, "why", why, "keys", set.IDs(), "primary", set.PrimaryID())
	if r.o.OnChange != nil {
		r.o.OnChange()
	}
	return true, nil
}

// read loads the key file with LoadKeySet's checks and says what it was.
func (r *Reloader) read() (fileSig, KeySet, error) {
	set, data, err := loadKeyFile(r.path)
	if err != nil {
		return fileSig{}, KeySet{}, err
	}
	info, err := os.Stat(r.path)
	if err != nil {
		return fileSig{}, KeySet{}, fmt.Errorf("secrets: key file: %w", err)
	}
	return fileSig{size: info.Size(), modTime: info.ModTime(), sum: sha256.Sum256(data)}, set, nil
}

// vet refuses a key set that drops a key values still use.
func (r *Reloader) vet(ctx context.Context, set KeySet) error {
	var dropped []string
	for _, id := range r.ring.IDs() {
		if !slices.Contains(set.IDs(), id) {
			dropped = append(dropped, id)
		}
	}
	if len(dropped) == 0 || r.o.StillUsed == nil {
		return nil
	}
	counts, err := r.o.StillUsed(ctx, dropped)
	if err != nil {
		return fmt.Errorf("secrets: reload: count the values sealed with the keys the file dropped: %w", err)
	}
	var used []string
	for _, id := range dropped {
		if n := counts[id]; n > 0 {
			used = append(used, fmt.Sprintf("%s (%d values)", id, n))
		}
	}
	if len(used) > 0 {
		sort.Strings(used)
		return fmt.Errorf("secrets: reload: the key file dropped keys that values in the database are still sealed with: %s; put them back, or run `connhub keys reseal` before `connhub keys retire`", strings.Join(used, ", "))
	}
	return nil
}

// equal reports whether two signatures are the same file content and
// metadata.
func (s fileSig) equal(o fileSig) bool {
	return s.size == o.size && s.modTime.Equal(o.modTime) && bytes.Equal(s.sum[:], o.sum[:])
}
