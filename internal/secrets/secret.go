package secrets

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
)

// redacted is what a secret prints as.
const redacted = "[REDACTED]"

// Secret is a string that will not print: String, GoString, Format (every
// verb, %q and %#v quoted), LogValue (slog), MarshalJSON (a JSON string) and
// MarshalText all give "[REDACTED]". Reveal returns the value. The empty Secret
// prints as "" so that "unset" stays visible.
//
// Use it for every secret held in memory: Slack tokens, client and signing
// secrets, passwords. Converting it to string (string(s)) bypasses all of this;
// call Reveal, at the one place the value is sent, so that such places can be
// found.
//
// A Secret decodes from JSON and text as the plain string, but refuses the
// literal "[REDACTED]", so that output of connhub read back in (a dumped
// configuration, say) cannot silently replace a secret with the placeholder.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty (unset).
func (s Secret) IsZero() bool { return s == "" }

// shown is what the secret prints as: "[REDACTED]", or "" when unset.
func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String returns "[REDACTED]", or "" for the empty Secret.
func (s Secret) String() string { return s.shown() }

// GoString returns "[REDACTED]" quoted, as %#v shows a string.
func (s Secret) GoString() string { return strconv.Quote(s.shown()) }

// Format prints "[REDACTED]" (or "" when empty) for every verb: quoted for %q
// and %#v, as fmt quotes a string there, plain otherwise. Width and flags are
// ignored.
func (s Secret) Format(f fmt.State, verb rune) {
	out := s.shown()
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		out = strconv.Quote(out)
	}
	f.Write([]byte(out))
}

// LogValue returns "[REDACTED]", or "" for the empty Secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON returns the JSON string "[REDACTED]", or "" for the empty Secret.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.shown())), nil }

// MarshalText returns "[REDACTED]", or nothing for the empty Secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// errRedactedInput is returned when "[REDACTED]" is decoded into a Secret.
var errRedactedInput = errors.New(`secrets: refusing to read "[REDACTED]" as a secret: it is the placeholder connhub prints, not a value`)

// UnmarshalText sets the secret from text, which must not be "[REDACTED]".
// encoding/json uses it for JSON strings too.
func (s *Secret) UnmarshalText(text []byte) error {
	if string(text) == redacted {
		return errRedactedInput
	}
	*s = Secret(text)
	return nil
}
