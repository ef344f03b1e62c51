package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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

// Keyring seals with its newest key (the primary) and opens with any of its
// keys. It is safe for concurrent use and holds no key material in a form fmt
// would print.
type Keyring struct {
	ids   []string // oldest first; the last one is the primary
	aeads map[string]cipher.AEAD
}

// NewKeyring builds a ring from keys, oldest first: the LAST key is the newest,
// the primary, which seals. It needs at least one key; every key must have a
// valid, distinct ID and 32 bytes of material. All problems are reported at
// once. The ring does not keep keys' Material slices.
func NewKeyring(keys []Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("secrets: new keyring: no keys")
	}
	r := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys))}
	var errs []error
	for i, k := range keys {
		if kerrs := k.validate(); len(kerrs) > 0 {
			for _, err := range kerrs {
				errs = append(errs, fmt.Errorf("secrets: new keyring: key %d: %w", i+1, err))
			}
			continue
		}
		if _, dup := r.aeads[k.ID]; dup {
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
		r.aeads[k.ID] = aead
		r.ids = append(r.ids, k.ID)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Primary returns the ID of the key that seals: the newest. It is "" only for a
// Keyring not made by NewKeyring, which can neither seal nor open.
func (k *Keyring) Primary() string {
	if k == nil || len(k.ids) == 0 {
		return ""
	}
	return k.ids[len(k.ids)-1]
}

// IDs returns the IDs of the ring's keys, oldest first (the primary last).
func (k *Keyring) IDs() []string {
	if k == nil {
		return nil
	}
	return append([]string(nil), k.ids...)
}

// Has reports whether the ring holds the key with this ID.
func (k *Keyring) Has(id string) bool {
	if k == nil {
		return false
	}
	_, ok := k.aeads[id]
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
	id := k.Primary()
	if id == "" {
		return nil, errors.New("secrets: seal: empty keyring (use NewKeyring)")
	}
	aead := k.aeads[id]
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
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	h, err := parseHeader(sealed)
	if err != nil {
		return nil, err
	}
	var aead cipher.AEAD
	ok := k != nil
	if ok {
		aead, ok = k.aeads[h.keyID]
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
	if id == k.Primary() {
		return sealed, false, nil
	}
	out, err = k.Seal(plaintext, aad)
	clear(plaintext)
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
