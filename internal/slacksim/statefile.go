package slacksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A sandbox started WithStateFile keeps its word across restarts: the state
// file holds what snapshot.go describes, and a sandbox started on it again
// serves the same world, the same app with the same secrets, and every token
// it issued, live, expired or revoked as it was.
//
// When it is written:
//
//   - at once, before the answer leaves, after anything that issues, spends or
//     revokes a token or changes an app's secret or an org install's
//     workspaces (oauth.v2.access, oauth.v2.exchange, auth.revoke, the tokens,
//     client-secret and org-install controls, a reset): a token a client was
//     given survives a kill -9 right after;
//   - saveDelay after any other change (write methods, SCIM writes, the
//     controls that change the workspace, the clock), once for a burst;
//   - when Serve stops, and when SaveState is called.
//
// Each write goes to a temporary file in the same directory, is synced, and
// is renamed over the old one, so a crash leaves the old state or the new,
// never half of one. The file is 0600: it holds tokens and secrets.

// saveDelay gathers a burst of workspace changes into one write.
const saveDelay = time.Second

// stateKeeper knows where the state file is and whether it is behind.
type stateKeeper struct {
	path string

	write sync.Mutex // one write at a time, so the last written is the newest

	mu     sync.Mutex
	dirty  bool        // changed since the last write began
	timer  *time.Timer // the pending delayed write
	addr   string      // where the sandbox was last served
	loaded bool        // New found a state in the file
	closed bool        // Close was called: no more delayed writes
}

// WithStateFile keeps the sandbox's state in path: New loads it when the file
// exists (and refuses it when it was saved for a different world, see
// StateMismatchError), or generates the world and writes the file when it does
// not. The directory must exist.
func WithStateFile(path string) Option {
	return func(s *Server) { s.state = &stateKeeper{path: path} }
}

// StateLoaded reports whether New took the sandbox's state from its state file
// rather than generating a fresh world.
func (s *Server) StateLoaded() bool { return s.state != nil && s.state.loaded }

// SavedState is what a state file says of itself.
type SavedState struct {
	Config  WorldConfig // the world it holds was generated from this
	Addr    string      // where the sandbox that saved it was last served ("" if never)
	SavedAt time.Time
}

// ReadState reads what the state file at path says of itself, so that a
// command can start the sandbox with the settings it was saved with. A missing
// file is an error that wraps fs.ErrNotExist.
func ReadState(path string) (SavedState, error) {
	var head struct {
		Version int         `json:"version"`
		SavedAt time.Time   `json:"saved_at"`
		Config  WorldConfig `json:"config"`
		Addr    string      `json:"addr"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return SavedState{}, fmt.Errorf("sandbox state: %w", err)
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Version == 0 {
		return SavedState{}, notAStateFile(path, err)
	}
	if head.Version != snapshotVersion {
		return SavedState{}, fmt.Errorf("sandbox state %s: format version %d, this sandbox reads %d", path, head.Version, snapshotVersion)
	}
	return SavedState{Config: head.Config, Addr: head.Addr, SavedAt: head.SavedAt}, nil
}

func notAStateFile(path string, err error) error {
	why := "it has no format version"
	if err != nil {
		why = err.Error()
	}
	return fmt.Errorf("sandbox state %s: not a state file the sandbox can read (%s); remove it to start afresh", path, why)
}

// StateMismatchError is New's answer when the state file holds a world
// generated from other settings than the ones asked for. The sandbox does not
// throw the saved world away (and with it the tokens a hub holds) because a
// flag changed: start it with the saved settings, or remove the file.
type StateMismatchError struct {
	Path         string
	Saved, Asked WorldConfig
	Diffs        []string // e.g. "edition: saved enterprise_grid, asked free"
}

func (e *StateMismatchError) Error() string {
	return fmt.Sprintf("sandbox state %s holds a world made with other settings (%s): start with the saved settings, or remove the file to start afresh",
		e.Path, strings.Join(e.Diffs, "; "))
}

// loadState restores the server from its state file. It reports false, and
// changes nothing, when there is no file.
func (s *Server) loadState() (bool, error) {
	path := s.state.path
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sandbox state: %w", err)
	}
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil || snap.Version == 0 {
		return false, notAStateFile(path, err)
	}
	if snap.Version != snapshotVersion {
		return false, fmt.Errorf("sandbox state %s: format version %d, this sandbox reads %d", path, snap.Version, snapshotVersion)
	}
	if diffs := snap.Config.diff(s.cfg.World()); len(diffs) > 0 {
		return false, &StateMismatchError{Path: path, Saved: snap.Config, Asked: s.cfg.World(), Diffs: diffs}
	}
	w, err := restoreWorld(snap.World)
	if err != nil {
		return false, fmt.Errorf("sandbox state %s: the world: %w", path, err)
	}
	auth, err := restoreAuth(&snap, w)
	if err != nil {
		return false, fmt.Errorf("sandbox state %s: the tokens: %w", path, err)
	}
	def := auth.apps[snap.DefaultApp]
	if def == nil {
		return false, fmt.Errorf("sandbox state %s: the default app %q is not saved", path, snap.DefaultApp)
	}
	// The app's credentials are the saved ones; its name, redirect URLs and
	// rotation setting follow the configuration, as an app's settings page
	// would after an edit.
	def.Name, def.RedirectURLs, def.Rotation = s.cfg.AppName, append([]string(nil), s.cfg.RedirectURLs...), s.cfg.TokenRotation
	s.world.Store(w)
	s.auth, s.app = auth, def
	s.clockOffset.Store(int64(snap.ClockOffset))
	s.state.addr, s.state.loaded = snap.Addr, true
	s.log.Info("sandbox: state loaded", "path", path, "saved_at", snap.SavedAt.Format(time.RFC3339),
		"grants", len(auth.grants), "access_tokens", len(auth.access))
	return true, nil
}

// SaveState writes the sandbox's state to its state file now. Without a
// state file it does nothing.
func (s *Server) SaveState() error {
	k := s.state
	if k == nil {
		return nil
	}
	k.mu.Lock()
	k.dirty = false
	if k.timer != nil {
		k.timer.Stop()
		k.timer = nil
	}
	addr := k.addr
	k.mu.Unlock()

	k.write.Lock()
	defer k.write.Unlock()
	data, err := s.encodeState(addr)
	if err != nil {
		return fmt.Errorf("sandbox state: %w", err)
	}
	if err := writeFileAtomic(k.path, data); err != nil {
		return fmt.Errorf("sandbox state: %w", err)
	}
	return nil
}

// Close stops event deliveries (waiting for those in flight to end), writes
// the state a last time and stops the delayed writes: once it returns,
// nothing more is written unless a token is issued. Closing again does
// nothing. Serve calls it when it stops; a program serving Handler itself
// calls it when done.
func (s *Server) Close() error {
	s.closeEvents()
	k := s.state
	if k == nil {
		return nil
	}
	k.mu.Lock()
	was := k.closed
	k.closed = true
	k.mu.Unlock()
	if was {
		return nil
	}
	return s.SaveState() // after any write in flight: one at a time
}

// encodeState is the state file's content. The world's read lock and the
// auth lock are held while it is encoded: the snapshot shares the model's
// memory.
func (s *Server) encodeState(addr string) ([]byte, error) {
	w := s.world.Load()
	w.mu.RLock()
	defer w.mu.RUnlock()
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	snap := &snapshot{Version: snapshotVersion, SavedAt: time.Now().UTC(), Config: s.cfg.World(), Addr: addr,
		ClockOffset: time.Duration(s.clockOffset.Load()), DefaultApp: s.app.ClientID}
	sw, err := snapshotWorld(w)
	if err != nil {
		return nil, err
	}
	snap.World = sw
	snapshotAuth(s.auth, snap)
	return json.Marshal(snap)
}

// saveNow writes the state before the caller answers: a token was issued,
// spent or revoked. A failure is logged; the call's answer stands.
func (s *Server) saveNow() {
	if s.state == nil {
		return
	}
	if err := s.SaveState(); err != nil {
		s.log.Error("sandbox: save state", "err", err)
	}
}

// changed notes a change to the workspace; it is written saveDelay later,
// with whatever else changed meanwhile.
func (s *Server) changed() {
	k := s.state
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dirty = true
	if k.timer == nil && !k.closed {
		k.timer = time.AfterFunc(saveDelay, s.saveIfDirty)
	}
}

func (s *Server) saveIfDirty() {
	k := s.state
	k.mu.Lock()
	dirty := k.dirty && !k.closed
	k.mu.Unlock()
	if dirty {
		s.saveNow()
	}
}

// servedAt records where the sandbox serves, for the next start to ask for the
// same address.
func (s *Server) servedAt(addr string) {
	if s.state == nil {
		return
	}
	s.state.mu.Lock()
	s.state.addr = addr
	s.state.mu.Unlock()
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory, synced, renamed over path, and the directory synced, so that a
// crash at any point leaves either the old file or the new one. The file is
// 0600.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself survives a crash; not every system can sync a directory
		d.Close()
	}
	return nil
}
