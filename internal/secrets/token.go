package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// tokenBodyLen is the length of a token's random part: 32 bytes in base62
// (62^43 > 2^256, so 43 digits hold any 256-bit number).
const tokenBodyLen = 43

// tokenPrefixPattern is what a token prefix may look like: letters and digits,
// so that "_" ends it and a whole token selects with a double click.
var tokenPrefixPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,32}$`)

// NewToken returns a new bearer credential: prefix, "_", and 32 bytes from
// crypto/rand written as exactly 43 base62 digits (0-9, a-z, A-Z), e.g.
// NewToken("chub") → "chub_4f0Qm…". Base62 rather than base64 so that the token
// has no '-' or '_' of its own: it selects with a double click, and the prefix
// (letters and digits only) tells what kind of credential it is, also to
// secret scanners and to [RedactingHandler].
//
// Store only HashToken(token); show the token once, to whoever it was made
// for.
func NewToken(prefix string) (string, error) {
	if !tokenPrefixPattern.MatchString(prefix) {
		return "", fmt.Errorf("secrets: new token: prefix %q must be 1 to 32 letters or digits", prefix)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("secrets: new token: %w", err)
	}
	return prefix + "_" + encodeBase62(b[:]), nil
}

// encodeBase62 writes b as a big-endian number in exactly tokenBodyLen base62
// digits, zeros first, in math/big's alphabet (0-9, a-z, A-Z).
func encodeBase62(b []byte) string {
	digits := new(big.Int).SetBytes(b).Text(62)
	return strings.Repeat("0", tokenBodyLen-len(digits)) + digits
}

// HashToken returns the SHA-256 of token: what the store keeps instead of the
// token, and looks a token up by.
//
// A fast, unsalted hash is safe here because connhub's tokens are 256 bits from
// crypto/rand: there is nothing to guess or precompute, unlike a password. And
// being deterministic, the hash is the token's lookup key. Do not use it for
// secrets people choose.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// TokenMatches reports whether hash is HashToken(token), in constant time
// (crypto/subtle), so that timing tells nothing about how much of it matched.
func TokenMatches(hash []byte, token string) bool {
	return len(hash) == sha256.Size && subtle.ConstantTimeCompare(hash, HashToken(token)) == 1
}
