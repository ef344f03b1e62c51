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

// MinChosenTokenBody is the fewest characters the part after the prefix of a
// chosen token may have: 22 characters of base64url's alphabet carry 132
// bits when drawn at random.
const MinChosenTokenBody = 22

// minHexTokenBody is the same for a body of hex digits only: 32 of them are
// 128 bits.
const minHexTokenBody = 32

// CheckChosenToken reports whether token, chosen by a person (an environment
// variable's value, say) rather than made by NewToken, is fit to be a bearer
// credential: prefix, "_", then at least MinChosenTokenBody characters of
// A–Z a–z 0–9 - _ (at least 32 when they are all hex digits), not all the
// same character. Drawn at random, such a body holds at least 128 bits; the
// check cannot see randomness, only rule out the short and the obviously
// made-up. Every token NewToken makes passes. The error says what is wrong,
// never what the token is.
func CheckChosenToken(prefix, token string) error {
	body, ok := strings.CutPrefix(token, prefix+"_")
	if !ok {
		return fmt.Errorf("does not start with %s_", prefix)
	}
	hex := true
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !tokenBodyChar(c) {
			return fmt.Errorf("has a character after %s_ that is not A-Z, a-z, 0-9, - or _", prefix)
		}
		hex = hex && strings.IndexByte("0123456789abcdefABCDEF", c) >= 0
	}
	switch {
	case len(body) < MinChosenTokenBody:
		return fmt.Errorf("has %d characters after %s_, want at least %d", len(body), prefix, MinChosenTokenBody)
	case hex && len(body) < minHexTokenBody:
		return fmt.Errorf("has only %d hex digits after %s_, want at least %d", len(body), prefix, minHexTokenBody)
	case strings.Count(body, body[:1]) == len(body):
		return fmt.Errorf("repeats one character after %s_", prefix)
	}
	return nil
}

func tokenBodyChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
