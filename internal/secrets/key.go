package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// KeySize is the length of a key's material in bytes: AES-256.
const KeySize = 32

// keyIDPattern is what a key ID may look like. It fits in the sealed format's
// one-byte length and never needs quoting in the key file.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Key is one encryption key: 32 bytes of AES-256 key material and a short ID
// that names it in every value it seals.
//
// Key.String REVEALS THE KEY MATERIAL; see [Key.String]. GoString, LogValue and
// MarshalJSON do not: they show the ID only.
type Key struct {
	ID       string
	Material []byte
}

// GenerateKey makes a new key from crypto/rand. Its ID is "k" followed by
// now in UTC as 20060102T150405, "-" and 6 random hex digits, e.g.
// "k20250102T030405-5f3a9c": the time tells an operator how old a key is, the
// suffix keeps keys made in the same second apart.
func GenerateKey(now time.Time) (Key, error) {
	var suffix [3]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return Key{}, fmt.Errorf("secrets: generate key: %w", err)
	}
	material := make([]byte, KeySize)
	if _, err := rand.Read(material); err != nil {
		return Key{}, fmt.Errorf("secrets: generate key: %w", err)
	}
	id := "k" + now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(suffix[:])
	return Key{ID: id, Material: material}, nil
}

// String returns the key in the key-file line format, "<id>:<base64 of the
// material>".
//
// WARNING: THIS REVEALS THE KEY. It exists to write the key file and the
// CONNHUB_ENCRYPTION_KEYS value; never pass a Key to fmt, a logger or an error
// message. %v and %s call this method; %#v, slog and encoding/json do not.
func (k Key) String() string {
	return k.ID + ":" + base64.StdEncoding.EncodeToString(k.Material)
}

// GoString shows the key's ID and hides its material, so %#v is safe.
func (k Key) GoString() string {
	return fmt.Sprintf("secrets.Key{ID:%q, Material:%s}", k.ID, redacted)
}

// LogValue shows the key's ID and hides its material, so slog is safe.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("material", redacted))
}

// MarshalJSON shows the key's ID and hides its material.
func (k Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID       string `json:"id"`
		Material string `json:"material"`
	}{k.ID, redacted})
}

// validate checks what NewKeyring requires of one key. Its errors never
// contain the key material, nor the ID unless the ID is valid.
func (k Key) validate() []error {
	var errs []error
	if k.ID == "" {
		errs = append(errs, errors.New("empty key ID"))
	} else if !keyIDPattern.MatchString(k.ID) {
		errs = append(errs, fmt.Errorf("key ID is not valid: it must match %s", keyIDPattern))
	}
	if len(k.Material) != KeySize {
		errs = append(errs, fmt.Errorf("key material is %d bytes, want %d", len(k.Material), KeySize))
	}
	return errs
}

// ParseKeys reads keys in the format of CONNHUB_ENCRYPTION_KEYS:
// "<id>:<base64>" items separated by commas and/or newlines, oldest first, the
// last one sealing; blank lines and lines starting with '#' (after leading
// spaces) are ignored, as are spaces around an item. The base64 is the
// standard alphabet with padding and must decode to 32 bytes. A "primary = ID"
// line belongs in a key file only ([ParseKeyFile]) and is refused here.
//
// Every problem is reported at once (errors.Join), each with its line number
// (and item number where a line holds several): bad base64, wrong length,
// empty, invalid or duplicate ID, no keys at all. No error ever contains key
// material, nor a key ID that does not match ^[A-Za-z0-9._-]{1,64}$.
func ParseKeys(s string) ([]Key, error) {
	set, err := parseKeySet(s)
	if err == nil && set.Primary != "" {
		err = errors.New(`a "primary = ID" line belongs in a key file; here the last key seals`)
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: parse keys: %w", err)
	}
	return set.Keys, nil
}

// KeySet is the keys of a key file, oldest first, and the ID of the one that
// seals. Primary is the key the file's "primary = ID" line names, or "" when
// the file has none: then the last key seals, as it did before the line
// existed.
type KeySet struct {
	Keys    []Key
	Primary string
}

// PrimaryID is the ID of the key that seals: Primary, or the last key's.
func (s KeySet) PrimaryID() string {
	if s.Primary != "" || len(s.Keys) == 0 {
		return s.Primary
	}
	return s.Keys[len(s.Keys)-1].ID
}

// IDs lists the set's key IDs in file order.
func (s KeySet) IDs() []string { return keyIDs(s.Keys) }

// ParseKeyFile reads a key file's content: the format of [ParseKeys], plus at
// most one line "primary = ID" naming the key that seals. It reports every
// problem at once, as ParseKeys does, and also a second primary line and a
// primary that names no key of the file.
func ParseKeyFile(s string) (KeySet, error) {
	set, err := parseKeySet(s)
	if err != nil {
		return KeySet{}, fmt.Errorf("secrets: parse key file: %w", err)
	}
	return set, nil
}

// primaryLine matches the key file's "primary = ID" line. A key item cannot
// match it: key IDs hold no spaces or '=', and an item needs a ':' after the
// ID.
var primaryLine = regexp.MustCompile(`^primary\s*=\s*(.*?)\s*$`)

// parseKeySet is ParseKeyFile without the error prefix, so that LoadKeyFile can
// name the file instead.
func parseKeySet(s string) (KeySet, error) {
	var (
		set       KeySet
		errs      []error
		seen      = map[string]string{} // ID -> where it was first seen
		primaryAt int
	)
	for i, line := range strings.Split(s, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if m := primaryLine.FindStringSubmatch(trimmed); m != nil {
			switch {
			case primaryAt != 0:
				errs = append(errs, fmt.Errorf("line %d: a second primary line (the first is at line %d)", i+1, primaryAt))
			case !keyIDPattern.MatchString(m[1]):
				errs = append(errs, fmt.Errorf("line %d: the primary key ID is not valid: it must match %s", i+1, keyIDPattern))
			default:
				set.Primary, primaryAt = m[1], i+1
			}
			continue
		}
		items := strings.Split(trimmed, ",")
		nonEmpty := 0
		for _, it := range items {
			if strings.TrimSpace(it) != "" {
				nonEmpty++
			}
		}
		for j, item := range items {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			where := fmt.Sprintf("line %d", i+1)
			if nonEmpty > 1 {
				where += fmt.Sprintf(", item %d", j+1)
			}
			k, kerrs := parseKey(item)
			if len(kerrs) > 0 {
				for _, err := range kerrs {
					errs = append(errs, fmt.Errorf("%s: %w", where, err))
				}
				continue
			}
			if first, dup := seen[k.ID]; dup {
				errs = append(errs, fmt.Errorf("%s: duplicate key ID %q (first at %s)", where, k.ID, first))
				continue
			}
			seen[k.ID] = where
			set.Keys = append(set.Keys, k)
		}
	}
	if len(set.Keys) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no keys found"))
	}
	if _, ok := seen[set.Primary]; set.Primary != "" && !ok && len(set.Keys) > 0 {
		errs = append(errs, fmt.Errorf("line %d: the primary key %q is not in the file", primaryAt, set.Primary))
	}
	if err := errors.Join(errs...); err != nil {
		return KeySet{}, err
	}
	return set, nil
}

// parseKey reads one "<id>:<base64>" item and reports every problem with it.
// Its errors never echo the item.
func parseKey(item string) (Key, []error) {
	id, b64, ok := strings.Cut(item, ":")
	if !ok {
		return Key{}, []error{errors.New(`not "<id>:<base64 key>" (no ':')`)}
	}
	id = strings.TrimSpace(id)
	b64 = strings.TrimSpace(b64)
	var errs []error
	if id == "" {
		errs = append(errs, errors.New("empty key ID"))
	} else if !keyIDPattern.MatchString(id) {
		errs = append(errs, fmt.Errorf("key ID is not valid: it must match %s", keyIDPattern))
	}
	material, err := base64.StdEncoding.DecodeString(b64)
	switch {
	case b64 == "":
		errs = append(errs, errors.New("empty key material"))
	case err != nil:
		// err names the offending byte offset only, but say it in our own words
		// so that no decoder message can ever quote the input.
		errs = append(errs, errors.New("key material is not valid standard base64"))
	case len(material) != KeySize:
		errs = append(errs, fmt.Errorf("key material decodes to %d bytes, want %d", len(material), KeySize))
	}
	if len(errs) > 0 {
		return Key{}, errs
	}
	return Key{ID: id, Material: material}, nil
}
