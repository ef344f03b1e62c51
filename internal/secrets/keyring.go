package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
)

// Sentinel errors of Open. The errors returned wrap them with context that
// never contains plaintext or key material; test with errors.Is.
var (
	// ErrUnknownKey: the value was sealed with a key the ring does not hold.
	// The wrapping error names the key ID.
	ErrUnknownKey = errors.New("secrets: unknown key")
	// ErrDecrypt: the value did not authenticate: a wrong key, a tampered
	// value, or associated data other than the value was sealed with.
	ErrDecrypt = errors.New("secrets: decrypt failed")
	// ErrFormat: the input is not a sealed value: too short, an unknown format
	// version, or a malformed key ID.
	ErrFormat = errors.New("secrets: not a sealed value")
)

const (
	// formatVersion is byte 0 of every sealed value.
	formatVersion = 1
	// nonceSize is GCM's standard nonce length.
	nonceSize = 12
	// tagSize is GCM's tag length.
	tagSize = 16
)

// Keyring seals with its primary key and opens with any of its keys. It is
// safe for concurrent use and holds no key material in a form fmt would print.
//
// A ring's keys can be replaced while it is in use ([Keyring.Replace]): a
// running server reloads its key file into the ring it was started with, and
// every Seal and Open sees either the old keys or the new, never a mix.
type Keyring struct {
	state     atomic.Pointer[ringState]
	onUnknown atomic.Pointer[func(keyID string) bool]
}

// ringState is one generation of a ring's keys.
type ringState struct {
	ids     []string // in the order given
	primary string
	aeads   map[string]cipher.AEAD
}

// NewKeyring builds a ring from keys, oldest first: the LAST key is the newest,
// the primary, which seals. It needs at least one key; every key must have a
// valid, distinct ID and 32 bytes of material. All problems are reported at
// once. The ring does not keep keys' Material slices.
func NewKeyring(keys []Key) (*Keyring, error) {
	primary := ""
	if len(keys) > 0 {
		primary = keys[len(keys)-1].ID
	}
	return KeySet{Keys: keys, Primary: primary}.Keyring()
}

// Keyring builds a ring of the set's keys that seals with the set's Primary
// (the last key when Primary is ""). It checks what NewKeyring checks, and that
// Primary names one of the keys.
func (s KeySet) Keyring() (*Keyring, error) {
	st, err := newRingState(s)
	if err != nil {
		return nil, err
	}
	r := &Keyring{}
	r.state.Store(st)
	return r, nil
}

// Replace swaps the ring's keys for the set's, at once for every caller. On
// error the ring keeps the keys it had.
func (k *Keyring) Replace(s KeySet) error {
	st, err := newRingState(s)
	if err != nil {
		return err
	}
	k.state.Store(st)
	return nil
}

// OnUnknownKey installs fn, which Open calls (once per Open) when a value
// names a key the ring lacks; if fn reports true, Open tries again with the
// ring's keys as they are then. A server uses it to reload its key file when
// another replica sealed with a key it has not picked up yet. fn must be safe
// for concurrent use and should limit how often it does real work.
func (k *Keyring) OnUnknownKey(fn func(keyID string) bool) {
	k.onUnknown.Store(&fn)
}

func newRingState(s KeySet) (*ringState, error) {
	if len(s.Keys) == 0 {
		return nil, errors.New("secrets: new keyring: no keys")
	}
	st := &ringState{aeads: make(map[string]cipher.AEAD, len(s.Keys))}
	var errs []error
	for i, k := range s.Keys {
		if kerrs := k.validate(); len(kerrs) > 0 {
			for _, err := range kerrs {
				errs = append(errs, fmt.Errorf("secrets: new keyring: key %d: %w", i+1, err))
			}
			continue
		}
		if _, dup := st.aeads[k.ID]; dup {
			errs = append(errs, fmt.Errorf("secrets: new keyring: key %d: duplicate key ID %q", i+1, k.ID))
			continue
		}
		block, err := aes.NewCipher(k.Material)
		if err != nil {
			errs = append(errs, fmt.Errorf("secrets: new keyring: key %d: %w", i+1, err))
			continue
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			errs = append(errs, fmt.Errorf("secrets: new keyring: key %d: %w", i+1, err))
			continue
		}
		st.aeads[k.ID] = aead
		st.ids = append(st.ids, k.ID)
	}
	st.primary = s.Primary
	if st.primary == "" {
		st.primary = s.Keys[len(s.Keys)-1].ID
	} else if !slices.Contains(keyIDs(s.Keys), st.primary) {
		if keyIDPattern.MatchString(st.primary) {
			errs = append(errs, fmt.Errorf("secrets: new keyring: the primary key %q is not one of the keys", st.primary))
		} else {
			errs = append(errs, errors.New("secrets: new keyring: the primary key is not one of the keys"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return st, nil
}

// keyIDs lists keys' IDs in order.
func keyIDs(keys []Key) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids
}

// current is the ring's keys now; nil for a Keyring not made by NewKeyring.
func (k *Keyring) current() *ringState {
	if k == nil {
		return nil
	}
	return k.state.Load()
}

// Primary returns the ID of the key that seals. It is "" only for a Keyring
// not made by NewKeyring, which can neither seal nor open.
func (k *Keyring) Primary() string {
	if st := k.current(); st != nil {
		return st.primary
	}
	return ""
}

// IDs returns the IDs of the ring's keys, in the order they were given
// (oldest first, for a key file).
func (k *Keyring) IDs() []string {
	if st := k.current(); st != nil {
		return append([]string(nil), st.ids...)
	}
	return nil
}

// Snapshot returns IDs and Primary as one generation of the ring holds them,
// even while Replace runs: what a heartbeat reports.
func (k *Keyring) Snapshot() (ids []string, primary string) {
	if st := k.current(); st != nil {
		return append([]string(nil), st.ids...), st.primary
	}
	return nil, ""
}

// Has reports whether the ring holds the key with this ID.
func (k *Keyring) Has(id string) bool {
	st := k.current()
	if st == nil {
		return false
	}
	_, ok := st.aeads[id]
	return ok
}

// String describes the ring by its key IDs.
func (k *Keyring) String() string {
	return "secrets.Keyring{" + strings.Join(k.IDs(), ",") + "; primary " + k.Primary() + "}"
}

// GoString is String, so %#v shows no cipher state either.
func (k *Keyring) GoString() string { return k.String() }

// LogValue shows the ring's key IDs and primary.
func (k *Keyring) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("ids", k.IDs()), slog.String("primary", k.Primary()))
}

// Seal encrypts plaintext with the primary key under a fresh random nonce and
// returns the sealed value (see the package doc for the format). aad is the
// associated data: not stored, but Open must be given the same bytes. The store
// passes "table/rowID/column" so that a value cannot be moved to another row
// or column.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	return k.current().seal(plaintext, aad)
}

func (st *ringState) seal(plaintext, aad []byte) ([]byte, error) {
	if st == nil {
		return nil, errors.New("secrets: seal: empty keyring (use NewKeyring)")
	}
	id := st.primary
	aead := st.aeads[id]
	headerLen := 2 + len(id)
	out := make([]byte, headerLen+nonceSize, headerLen+nonceSize+len(plaintext)+tagSize)
	out[0] = formatVersion
	out[1] = byte(len(id))
	copy(out[2:], id)
	nonce := out[headerLen : headerLen+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secrets: seal: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, additionalData(out[:headerLen], aad)), nil
}

// Open decrypts a value sealed by Seal with any key of the ring, given the same
// aad. It fails with an error wrapping ErrFormat if sealed is not a sealed
// value (too short, garbage, another format version), ErrUnknownKey if the key
// that sealed it is not in the ring, and ErrDecrypt if it does not
// authenticate: a wrong key, any change to the value, or other aad. It never
// returns plaintext that did not authenticate, and never panics on any input.
//
// Before failing with ErrUnknownKey it asks the function given to
// OnUnknownKey, if any, and tries once more if that reports the ring changed.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	p, err := k.current().open(sealed, aad)
	if !errors.Is(err, ErrUnknownKey) || k == nil {
		return p, err
	}
	fn := k.onUnknown.Load()
	if fn == nil {
		return nil, err
	}
	id, _ := SealedKeyID(sealed)
	if !(*fn)(id) {
		return nil, err
	}
	return k.current().open(sealed, aad)
}

func (st *ringState) open(sealed, aad []byte) ([]byte, error) {
	h, err := parseHeader(sealed)
	if err != nil {
		return nil, err
	}
	var aead cipher.AEAD
	ok := st != nil
	if ok {
		aead, ok = st.aeads[h.keyID]
	}
	if !ok {
		return nil, unknownKeyError(h.keyID)
	}
	nonce := sealed[h.len : h.len+nonceSize]
	plaintext, err := aead.Open(nil, nonce, sealed[h.len+nonceSize:], additionalData(sealed[:h.len], aad))
	if err != nil {
		return nil, fmt.Errorf("%w: wrong key, tampered value or wrong associated data (key %q)", ErrDecrypt, h.keyID)
	}
	return plaintext, nil
}

// Reseal returns sealed re-encrypted with the primary key if another key
// sealed it, and changed reports whether it did; a value already sealed by the
// primary is returned as it is. It is one step of key rotation: the store runs
// it over every sealed column, with each value's aad, and writes back the
// changed ones.
func (k *Keyring) Reseal(sealed, aad []byte) (out []byte, changed bool, err error) {
	id, err := SealedKeyID(sealed)
	if err != nil {
		return nil, false, err
	}
	plaintext, err := k.Open(sealed, aad)
	if err != nil {
		return nil, false, err
	}
	defer clear(plaintext)
	st := k.current() // one generation for the comparison and the seal
	if id == st.primary {
		return sealed, false, nil
	}
	out, err = st.seal(plaintext, aad)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// SealedKeyID returns the ID of the key that sealed a value, without opening
// it. Rotation re-seals the values whose key is not the ring's Primary. It
// fails with an error wrapping ErrFormat if sealed is not a sealed value.
func SealedKeyID(sealed []byte) (string, error) {
	h, err := parseHeader(sealed)
	if err != nil {
		return "", err
	}
	return h.keyID, nil
}

// header is the parsed start of a sealed value.
type header struct {
	keyID string
	len   int // bytes of version, ID length and ID
}

// parseHeader checks the version, the key ID and that the value is long
// enough to hold a nonce and a tag.
func parseHeader(sealed []byte) (header, error) {
	if len(sealed) < 2 {
		return header{}, fmt.Errorf("%w: %d bytes is too short", ErrFormat, len(sealed))
	}
	if sealed[0] != formatVersion {
		return header{}, fmt.Errorf("%w: format version %d, want %d", ErrFormat, sealed[0], formatVersion)
	}
	n := int(sealed[1])
	if n == 0 || 2+n > len(sealed) {
		return header{}, fmt.Errorf("%w: bad key ID length", ErrFormat)
	}
	id := string(sealed[2 : 2+n])
	if !keyIDPattern.MatchString(id) {
		return header{}, fmt.Errorf("%w: malformed key ID", ErrFormat)
	}
	if len(sealed) < 2+n+nonceSize+tagSize {
		return header{}, fmt.Errorf("%w: %d bytes is too short", ErrFormat, len(sealed))
	}
	return header{keyID: id, len: 2 + n}, nil
}

// additionalData is what GCM authenticates beside the ciphertext: the header,
// so that the version and key ID are bound to the value, then the caller's aad.
// The header carries its own length, so the concatenation is unambiguous.
func additionalData(header, aad []byte) []byte {
	return append(append(make([]byte, 0, len(header)+len(aad)), header...), aad...)
}

// unknownKeyError names the missing key and where it should have come from.
func unknownKeyError(id string) error {
	return fmt.Errorf("%w %q: the value was sealed with a key that is missing from CONNHUB_ENCRYPTION_KEYS or the key file", ErrUnknownKey, id)
}
