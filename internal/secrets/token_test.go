package secrets_test

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/secrets"
)

func TestNewToken(t *testing.T) {
	t.Parallel()
	shape := regexp.MustCompile(`^chub_[0-9A-Za-z]{43}$`)
	seen := map[string]bool{}
	for range 1000 {
		tok, err := secrets.NewToken("chub")
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(tok) {
			t.Fatalf("got %q, want chub_ and 43 base62 digits", tok)
		}
		if seen[tok] {
			t.Fatalf("got %q twice, want unique tokens", tok)
		}
		seen[tok] = true
	}
}

func TestNewTokenBadPrefix(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "a_b", "a-b", "a b", strings.Repeat("p", 33)} {
		if tok, err := secrets.NewToken(p); err == nil {
			t.Errorf("NewToken(%q): got %q, want an error", p, tok)
		}
	}
}

func TestEncodeBase62(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []byte
		want string
	}{
		{make([]byte, 32), strings.Repeat("0", 43)},
		{append(make([]byte, 31), 61), strings.Repeat("0", 42) + "Z"},
		{append(make([]byte, 31), 10), strings.Repeat("0", 42) + "a"},
		{append(make([]byte, 31), 62), strings.Repeat("0", 41) + "10"},
	}
	for _, tt := range tests {
		if got := secrets.EncodeBase62(tt.in); got != tt.want {
			t.Errorf("EncodeBase62(%x): got %q, want %q", tt.in, got, tt.want)
		}
	}
	// The largest 256-bit number still fits in 43 digits and decodes back.
	max := bytes.Repeat([]byte{0xff}, 32)
	enc := secrets.EncodeBase62(max)
	n, ok := new(big.Int).SetString(enc, 62)
	if !ok || !bytes.Equal(n.Bytes(), max) {
		t.Errorf("EncodeBase62(max): got %q, want it to decode to 2^256-1", enc)
	}
}

func TestHashToken(t *testing.T) {
	t.Parallel()
	// SHA-256 of the empty string.
	if got, want := hex.EncodeToString(secrets.HashToken("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("HashToken(\"\"): got %s, want %s", got, want)
	}
}

func TestTokenMatches(t *testing.T) {
	t.Parallel()
	tok, err := secrets.NewToken("chub")
	if err != nil {
		t.Fatal(err)
	}
	other, err := secrets.NewToken("chub")
	if err != nil {
		t.Fatal(err)
	}
	hash := secrets.HashToken(tok)
	tests := []struct {
		name  string
		hash  []byte
		token string
		want  bool
	}{
		{"right token", hash, tok, true},
		{"other token", hash, other, false},
		{"truncated token", hash, tok[:len(tok)-1], false},
		{"token plus a byte", hash, tok + "x", false},
		{"empty token", hash, "", false},
		{"nil hash", nil, tok, false},
		{"empty hash of empty token", []byte{}, "", false},
		{"truncated hash", hash[:16], tok, false},
		{"the hash as the token", hash, string(hash), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := secrets.TokenMatches(tt.hash, tt.token); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
