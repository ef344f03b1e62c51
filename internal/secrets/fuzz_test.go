package secrets_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/connhub/connhub/internal/secrets"
)

// FuzzOpen feeds Open arbitrary input: it must never panic, must fail with one
// of the three sentinel errors, and may succeed only on a value sealed by the
// ring, giving back what was sealed with that aad. The seeds are sealed anew in
// every fuzzing process (fresh nonces) under the same fixed key, so a success
// is checked by its plaintext and aad, which no mutation can forge.
func FuzzOpen(f *testing.F) {
	m := make([]byte, secrets.KeySize)
	for i := range m {
		m[i] = byte(i)
	}
	other := secrets.Key{ID: "kother", Material: bytes.Repeat([]byte{7}, secrets.KeySize)}
	ring, err := secrets.NewKeyring([]secrets.Key{other, {ID: "kfuzz", Material: m}})
	if err != nil {
		f.Fatal(err)
	}
	sealedPairs := map[[2]string]bool{} // plaintext, aad
	for _, v := range []struct{ plaintext, aad string }{
		{"", ""},
		{"xoxb-1-2-3", "slack_tokens/1/access_token"},
		{"a longer secret value to give the fuzzer room", "apps/9/client_secret"},
	} {
		sealed, err := ring.Seal([]byte(v.plaintext), []byte(v.aad))
		if err != nil {
			f.Fatal(err)
		}
		sealedPairs[[2]string{v.plaintext, v.aad}] = true
		f.Add(sealed, []byte(v.aad))
		f.Add(sealed[:len(sealed)-1], []byte(v.aad))
		f.Add(sealed, []byte(v.aad+"x"))
	}
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1}, []byte(nil))
	f.Add([]byte{1, 5, 'k', 'f', 'u', 'z', 'z'}, []byte("a"))
	f.Add([]byte{1, 255}, []byte("a"))
	f.Add([]byte("xoxb-garbage"), []byte("a"))

	f.Fuzz(func(t *testing.T, data, aad []byte) {
		got, err := ring.Open(data, aad)
		if err != nil {
			if got != nil {
				t.Fatalf("got plaintext %q with error %v, want nil", got, err)
			}
			if !errors.Is(err, secrets.ErrFormat) && !errors.Is(err, secrets.ErrUnknownKey) && !errors.Is(err, secrets.ErrDecrypt) {
				t.Fatalf("got %v, want ErrFormat, ErrUnknownKey or ErrDecrypt", err)
			}
			return
		}
		if !sealedPairs[[2]string{string(got), string(aad)}] {
			t.Fatalf("Open(%x, %q) succeeded with %q, which was never sealed with that aad", data, aad, got)
		}
	})
}
