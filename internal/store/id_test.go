package store_test

import (
	"encoding/base64"
	"math/big"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/store"
)

// idValue decodes NewID's 26 base32 characters into the 128-bit number they
// spell.
func idValue(t *testing.T, id string) *big.Int {
	t.Helper()
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	_, body, ok := strings.Cut(id, "_")
	if !ok || len(body) != 26 {
		t.Fatalf("ID %q: want a prefix, _, and 26 characters", id)
	}
	v := new(big.Int)
	for _, c := range body {
		d := strings.IndexRune(alphabet, c)
		if d < 0 {
			t.Fatalf("ID %q: %q is not Crockford base32", id, c)
		}
		v.Lsh(v, 5).Add(v, big.NewInt(int64(d)))
	}
	return v
}

// TestNewIDIsNotSuccessive: IDs made one after the other (most of them in one
// millisecond) share nothing but the millisecond; none is its predecessor
// plus a small step, the way a counter would make it.
func TestNewIDIsNotSuccessive(t *testing.T) {
	t.Parallel()
	near := new(big.Int).Lsh(big.NewInt(1), 40) // a counter's steps are far below this
	prev := store.NewID("ins")
	sameMillisecond := 0
	for range 2000 {
		id := store.NewID("ins")
		a, b := idValue(t, prev), idValue(t, id)
		if id[:14] < prev[:14] {
			t.Fatalf("%s after %s: the time prefix went back", id, prev)
		}
		if id[:14] == prev[:14] {
			sameMillisecond++
			if d := new(big.Int).Sub(b, a); d.CmpAbs(near) < 0 {
				t.Fatalf("%s follows %s by %s: the next ID can be guessed from the last", id, prev, d)
			}
		}
		prev = id
	}
	if sameMillisecond == 0 {
		t.Skip("no two IDs shared a millisecond on this machine")
	}
}

func TestNewSecretIDIs256RandomBits(t *testing.T) {
	t.Parallel()
	a, b := store.NewSecretID("st"), store.NewSecretID("st")
	for _, id := range []string{a, b} {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(id, "st_"))
		if !strings.HasPrefix(id, "st_") || err != nil || len(raw) != 32 || strings.Contains(id, ".") {
			t.Fatalf("secret ID %q: want st_ and 32 bytes of base64url without a dot (%v)", id, err)
		}
	}
	if a[:10] == b[:10] {
		t.Errorf("two secret IDs share a prefix: %s, %s", a, b)
	}
}
