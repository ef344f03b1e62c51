package secrets_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/connhub/connhub/internal/secrets"
)

// newKey returns a key with the given ID and material derived from seed, so
// that tests can make two keys with one ID and different material.
func newKey(t *testing.T, id string, seed byte) secrets.Key {
	t.Helper()
	m := make([]byte, secrets.KeySize)
	for i := range m {
		m[i] = seed + byte(i)*7
	}
	return secrets.Key{ID: id, Material: m}
}

// setup returns a ring of the given keys, oldest first.
func setup(t *testing.T, keys ...secrets.Key) *secrets.Keyring {
	t.Helper()
	r, err := secrets.NewKeyring(keys)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return r
}

// isOneOf reports whether err wraps one of targets.
func isOneOf(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	r := setup(t, newKey(t, "k1", 1))
	big := bytes.Repeat([]byte("0123456789"), 100_000)
	tests := []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"empty", nil, []byte("slack_tokens/1/access_token")},
		{"token", []byte("xoxb-1234-5678-abcdef"), []byte("slack_tokens/1/access_token")},
		{"binary", []byte{0, 1, 2, 255, 254}, []byte("apps/a1/client_secret")},
		{"no aad", []byte("secret"), nil},
		{"1MB", big, []byte("t/1/c")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sealed, err := r.Seal(tt.plaintext, tt.aad)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if len(tt.plaintext) >= 4 && bytes.Contains(sealed, tt.plaintext) {
				t.Fatalf("sealed value contains the plaintext")
			}
			got, err := r.Open(sealed, tt.aad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(tt.plaintext), tt.plaintext)
			}
		})
	}
}

func TestSealFormat(t *testing.T) {
	t.Parallel()
	r := setup(t, newKey(t, "k20250102T030405-abcdef", 1))
	plaintext := []byte("hello")
	sealed, err := r.Seal(plaintext, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := "k20250102T030405-abcdef"
	if got, want := sealed[0], byte(1); got != want {
		t.Errorf("version byte: got %d, want %d", got, want)
	}
	if got, want := int(sealed[1]), len(id); got != want {
		t.Errorf("key ID length: got %d, want %d", got, want)
	}
	if got := string(sealed[2 : 2+len(id)]); got != id {
		t.Errorf("key ID: got %q, want %q", got, id)
	}
	if got, want := len(sealed), 2+len(id)+12+len(plaintext)+16; got != want {
		t.Errorf("length: got %d, want %d", got, want)
	}
	again, err := r.Seal(plaintext, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, sealed) {
		t.Errorf("sealing twice gave the same bytes: got equal, want fresh nonces")
	}
}

func TestNewestKeySealsOlderKeysOpen(t *testing.T) {
	t.Parallel()
	old, newer := newKey(t, "kold", 1), newKey(t, "knew", 2)
	oldRing := setup(t, old)
	ring := setup(t, old, newer)

	if got, want := ring.Primary(), "knew"; got != want {
		t.Errorf("Primary: got %q, want %q", got, want)
	}
	if got, want := ring.IDs(), []string{"kold", "knew"}; !slices.Equal(got, want) {
		t.Errorf("IDs: got %q, want %q", got, want)
	}
	aad := []byte("slack_tokens/7/access_token")
	byOld, err := oldRing.Seal([]byte("old value"), aad)
	if err != nil {
		t.Fatal(err)
	}
	byNew, err := ring.Seal([]byte("new value"), aad)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		sealed []byte
		wantID string
		want   string
	}{{byOld, "kold", "old value"}, {byNew, "knew", "new value"}} {
		id, err := secrets.SealedKeyID(tt.sealed)
		if err != nil || id != tt.wantID {
			t.Errorf("SealedKeyID: got %q, %v, want %q", id, err, tt.wantID)
		}
		got, err := ring.Open(tt.sealed, aad)
		if err != nil || string(got) != tt.want {
			t.Errorf("Open: got %q, %v, want %q", got, err, tt.want)
		}
	}
	// The old ring has never heard of the new key.
	if _, err := oldRing.Open(byNew, aad); !errors.Is(err, secrets.ErrUnknownKey) {
		t.Errorf("old ring opening a value of the new key: got %v, want ErrUnknownKey", err)
	}
}

func TestReseal(t *testing.T) {
	t.Parallel()
	old, newer := newKey(t, "kold", 1), newKey(t, "knew", 2)
	oldRing, ring := setup(t, old), setup(t, old, newer)
	aad := []byte("apps/1/client_secret")
	byOld, err := oldRing.Seal([]byte("value"), aad)
	if err != nil {
		t.Fatal(err)
	}
	out, changed, err := ring.Reseal(byOld, aad)
	if err != nil || !changed {
		t.Fatalf("Reseal of an old value: got changed=%v, %v, want changed=true, nil", changed, err)
	}
	if id, _ := secrets.SealedKeyID(out); id != "knew" {
		t.Errorf("resealed key ID: got %q, want %q", id, "knew")
	}
	if got, err := ring.Open(out, aad); err != nil || string(got) != "value" {
		t.Errorf("Open resealed: got %q, %v, want %q", got, err, "value")
	}
	again, changed, err := ring.Reseal(out, aad)
	if err != nil || changed || !bytes.Equal(again, out) {
		t.Errorf("Reseal of a primary value: got changed=%v, same=%v, %v, want changed=false, same=true, nil", changed, bytes.Equal(again, out), err)
	}
	if _, _, err := ring.Reseal(byOld, []byte("apps/2/client_secret")); !errors.Is(err, secrets.ErrDecrypt) {
		t.Errorf("Reseal with wrong aad: got %v, want ErrDecrypt", err)
	}
}

func TestOpenWrongAAD(t *testing.T) {
	t.Parallel()
	r := setup(t, newKey(t, "k1", 1))
	sealed, err := r.Seal([]byte("xoxb-secret"), []byte("slack_tokens/1/access_token"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, aad string }{
		{"row swap", "slack_tokens/2/access_token"},
		{"column swap", "slack_tokens/1/refresh_token"},
		{"table swap", "apps/1/access_token"},
		{"empty", ""},
		{"prefix", "slack_tokens/1/access_toke"},
		{"suffix", "slack_tokens/1/access_tokenX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Open(sealed, []byte(tt.aad))
			if !errors.Is(err, secrets.ErrDecrypt) || got != nil {
				t.Errorf("got %q, %v, want nil, ErrDecrypt", got, err)
			}
			if err != nil && strings.Contains(err.Error(), "xoxb-secret") {
				t.Errorf("error %q contains the plaintext", err)
			}
		})
	}
}

func TestOpenWrongKeyNeverYieldsPlaintext(t *testing.T) {
	t.Parallel()
	// Same ID, other material: the ring finds "a key" and must still refuse.
	right, wrong := setup(t, newKey(t, "k1", 1)), setup(t, newKey(t, "k1", 2))
	for i := range 200 {
		sealed, err := right.Seal(fmt.Appendf(nil, "value %d", i), []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := wrong.Open(sealed, []byte("aad"))
		if !errors.Is(err, secrets.ErrDecrypt) || got != nil {
			t.Fatalf("seal %d opened with the wrong key: got %q, %v, want nil, ErrDecrypt", i, got, err)
		}
	}
}

func TestOpenUnknownKey(t *testing.T) {
	t.Parallel()
	sealer := setup(t, newKey(t, "k20240101T000000-0a0b0c", 1))
	opener := setup(t, newKey(t, "kother", 2))
	sealed, err := sealer.Seal([]byte("v"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = opener.Open(sealed, nil)
	if !errors.Is(err, secrets.ErrUnknownKey) {
		t.Fatalf("got %v, want ErrUnknownKey", err)
	}
	for _, want := range []string{"k20240101T000000-0a0b0c", "CONNHUB_ENCRYPTION_KEYS", "key file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: got no %q, want it named", err, want)
		}
	}
}

func TestOpenEveryBitFlipFails(t *testing.T) {
	t.Parallel()
	r := setup(t, newKey(t, "k1", 1), newKey(t, "k2", 2))
	aad := []byte("t/1/c")
	sealed, err := r.Seal([]byte("a secret worth flipping bits of"), aad)
	if err != nil {
		t.Fatal(err)
	}
	headerLen := 2 + len("k2")
	for i := range len(sealed) * 8 {
		flipped := bytes.Clone(sealed)
		flipped[i/8] ^= 1 << (i % 8)
		got, err := r.Open(flipped, aad)
		if err == nil || got != nil {
			t.Fatalf("bit %d: got %q, %v, want an error", i, got, err)
		}
		// In the key ID a flip may name another (unknown) key; past the header
		// only authentication can fail.
		want := []error{secrets.ErrDecrypt}
		if i/8 < headerLen {
			want = []error{secrets.ErrFormat, secrets.ErrUnknownKey, secrets.ErrDecrypt}
		}
		if !isOneOf(err, want...) {
			t.Fatalf("bit %d (byte %d): got %v, want one of %v", i, i/8, err, want)
		}
	}
}

func TestOpenTruncatedFails(t *testing.T) {
	t.Parallel()
	r := setup(t, newKey(t, "k1", 1))
	aad := []byte("t/1/c")
	sealed, err := r.Seal([]byte("a value to cut short"), aad)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(sealed) {
		got, err := r.Open(sealed[:n], aad)
		if got != nil || !isOneOf(err, secrets.ErrFormat, secrets.ErrDecrypt) {
			t.Errorf("first %d of %d bytes: got %q, %v, want ErrFormat or ErrDecrypt", n, len(sealed), got, err)
		}
		if _, err := secrets.SealedKeyID(sealed[:n]); n < 2+2+12+16 && !errors.Is(err, secrets.ErrFormat) {
			t.Errorf("SealedKeyID of first %d bytes: got %v, want ErrFormat", n, err)
		}
	}
	if got, err := r.Open(append(bytes.Clone(sealed), 0), aad); got != nil || !errors.Is(err, secrets.ErrDecrypt) {
		t.Errorf("one byte appended: got %q, %v, want ErrDecrypt", got, err)
	}
}

func TestOpenGarbageIsErrFormat(t *testing.T) {
	t.Parallel()
	r := setup(t, newKey(t, "k1", 1))
	long := bytes.Repeat([]byte{0xAA}, 64)
	withHeader := func(h ...byte) []byte { return append(h, long...) }
	tests := []struct {
		name  string
		input []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"version only", []byte{1}},
		{"version 0", withHeader(0, 2, 'k', '1')},
		{"version 2", withHeader(2, 2, 'k', '1')},
		{"empty key ID", withHeader(1, 0)},
		{"ID longer than input", []byte{1, 200, 'k', '1'}},
		{"ID with a space", withHeader(1, 2, 'k', ' ')},
		{"ID with a NUL", withHeader(1, 2, 'k', 0)},
		{"too short for nonce and tag", append([]byte{1, 2, 'k', '1'}, make([]byte, 27)...)},
		{"text", []byte("xoxb-not-sealed-at-all")},
		{"base64 of something", []byte(base64.StdEncoding.EncodeToString(long))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Open(tt.input, nil)
			if got != nil || !errors.Is(err, secrets.ErrFormat) {
				t.Errorf("Open: got %q, %v, want ErrFormat", got, err)
			}
			if id, err := secrets.SealedKeyID(tt.input); !errors.Is(err, secrets.ErrFormat) {
				t.Errorf("SealedKeyID: got %q, %v, want ErrFormat", id, err)
			}
		})
	}
}

func TestNewKeyringErrors(t *testing.T) {
	t.Parallel()
	good := newKey(t, "k1", 1)
	tests := []struct {
		name string
		keys []secrets.Key
		want []string
	}{
		{"no keys", nil, []string{"no keys"}},
		{"short material", []secrets.Key{{ID: "k1", Material: good.Material[:16]}}, []string{"key 1", "16 bytes, want 32"}},
		{"empty ID", []secrets.Key{{ID: "", Material: good.Material}}, []string{"key 1", "empty key ID"}},
		{"bad ID", []secrets.Key{{ID: "k 1", Material: good.Material}}, []string{"key 1", "not valid"}},
		{"duplicate", []secrets.Key{good, newKey(t, "k1", 2)}, []string{"key 2", `duplicate key ID "k1"`}},
		{"several", []secrets.Key{{ID: "", Material: nil}, good, {ID: "k/2", Material: good.Material}}, []string{"key 1", "key 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := secrets.NewKeyring(tt.keys)
			if err == nil {
				t.Fatalf("got ring %v, want an error", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: got no %q, want it", err, w)
				}
			}
			if m := base64.StdEncoding.EncodeToString(good.Material); strings.Contains(err.Error(), m) {
				t.Errorf("error %q contains key material", err)
			}
		})
	}
}

func TestKeyringPrintsNoMaterial(t *testing.T) {
	t.Parallel()
	k := newKey(t, "k1", 1)
	r := setup(t, k)
	material := base64.StdEncoding.EncodeToString(k.Material)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(verb, r)
		if strings.Contains(got, material) || !strings.Contains(got, "k1") {
			t.Errorf("%s of a Keyring: got %q, want the key ID and no material", verb, got)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 4, 4, 5, 0, time.FixedZone("CET", 3600))
	a, err := secrets.GenerateKey(now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := secrets.GenerateKey(now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.ID, "k20250102T030405-") || len(a.ID) != len("k20250102T030405-")+6 {
		t.Errorf("ID: got %q, want k20250102T030405-<6 hex digits>", a.ID)
	}
	if got, want := len(a.Material), 32; got != want {
		t.Errorf("material: got %d bytes, want %d", got, want)
	}
	if a.ID == b.ID || bytes.Equal(a.Material, b.Material) {
		t.Errorf("two keys in one second: got IDs %q and %q (same material: %v), want distinct", a.ID, b.ID, bytes.Equal(a.Material, b.Material))
	}
	if _, err := secrets.NewKeyring([]secrets.Key{a, b}); err != nil {
		t.Errorf("NewKeyring of generated keys: got %v, want nil", err)
	}
}
