package secrets

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// sensitiveKeySuffixes are the attribute keys RedactingHandler redacts
// whatever their value: a key equal to one, or ending with one, compared
// case-insensitively.
var sensitiveKeySuffixes = []string{
	"token", "secret", "password", "passwd", "authorization", "cookie",
	"client_secret", "refresh_token", "access_token", "signing_secret",
	"api_key", "key_material", "encryption_keys",
}

// slackTokenPattern matches Slack's token shapes: xoxb-, xoxp-, xoxa-, xoxe-
// (refresh tokens), xoxs-, xoxr-, and any other xox?- , rotating access tokens
// (xoxe.xoxb-1-…), and app-level tokens (xapp-).
const slackTokenPattern = `(?:xoxe\.)?xox[a-z]-[A-Za-z0-9_-]+|xapp-[A-Za-z0-9_-]+`

// keyMaterialPattern matches 32 bytes in standard base64, as in a key line
// (Key.String): what %v prints for a Key that ends up inside a logged value.
const keyMaterialPattern = `[A-Za-z0-9+/]{43}=`

// IsSensitiveKey reports whether RedactingHandler redacts an attribute with
// this key whatever its value: the key, lower-cased, is or ends with one of
// token, secret, password, passwd, authorization, cookie, client_secret,
// refresh_token, access_token, signing_secret, api_key, key_material,
// encryption_keys. So "Authorization", "bot_token" and "X-Client-Secret" are,
// "token_type" and "key" are not.
func IsSensitiveKey(key string) bool {
	lower := strings.ToLower(key)
	for _, s := range sensitiveKeySuffixes {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return false
}

// RedactingHandler wraps h so that secrets are dropped before h sees them, a
// second line of defence behind the [Secret] type. An attribute is replaced by
// "[REDACTED]", keeping its key so that logs still show the field existed, when
//
//   - its value is a [Secret] (an empty Secret stays "", as it prints);
//   - its key is sensitive ([IsSensitiveKey]), whatever its value, a group
//     included; every attribute under a WithGroup whose name is sensitive is
//     redacted too;
//
// and inside string values, and other values as %+v prints them (an error's
// message, a *url.URL, a struct's fields), every substring that looks like a
// token is replaced by "[REDACTED]": Slack's tokens (xox?-…, xoxe.xox?-…,
// xapp-…), connhub's own, "<prefix>_" followed by at least 32 letters or
// digits, for each of tokenPrefixes (see [NewToken]), and 32 bytes in padded
// standard base64 (key material, as [Key.String] writes it). A non-string value
// holding one is replaced by its cleaned %+v text. The record's message is
// cleaned the same way.
//
// Attributes are examined inside groups at any depth, and in WithAttrs;
// LogValuers are resolved first. Everything else passes unchanged.
func RedactingHandler(h slog.Handler, tokenPrefixes ...string) slog.Handler {
	patterns := []string{slackTokenPattern, keyMaterialPattern}
	hints := []string{"xox", "xapp-", "="}
	for _, p := range tokenPrefixes {
		if p == "" {
			continue
		}
		patterns = append(patterns, regexp.QuoteMeta(p+"_")+`[A-Za-z0-9]{32,}`)
		hints = append(hints, p+"_")
	}
	return &redactingHandler{
		next:   h,
		tokens: regexp.MustCompile(strings.Join(patterns, "|")),
		hints:  hints,
	}
}

// redactingHandler is what RedactingHandler returns.
type redactingHandler struct {
	next   slog.Handler
	tokens *regexp.Regexp
	hints  []string // a string holding none of these holds no token: skip the regexp
	// all is set under a WithGroup with a sensitive name: every attribute is
	// redacted.
	all bool
}

// Enabled defers to the wrapped handler.
func (h *redactingHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle passes a copy of r with its message and attributes redacted.
func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	msg, _ := h.redactTokens(r.Message)
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.redact(a, h.all))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs redacts attrs before the wrapped handler keeps them.
func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.redact(a, h.all)
	}
	nh := *h
	nh.next = h.next.WithAttrs(clean)
	return &nh
}

// WithGroup opens a group; under a sensitive name, everything is redacted.
func (h *redactingHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	nh := *h
	nh.next = h.next.WithGroup(name)
	nh.all = h.all || IsSensitiveKey(name)
	return &nh
}

// redact returns a with any secret in it replaced; all redacts every value.
func (h *redactingHandler) redact(a slog.Attr, all bool) slog.Attr {
	if s, ok := secretValue(a.Value); ok {
		return slog.Attr{Key: a.Key, Value: s.LogValue()}
	}
	if IsSensitiveKey(a.Key) {
		return slog.String(a.Key, redacted)
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		group := v.Group()
		clean := make([]slog.Attr, len(group))
		for i, ga := range group {
			clean[i] = h.redact(ga, all)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	}
	if all {
		return slog.String(a.Key, redacted)
	}
	switch v.Kind() {
	case slog.KindString:
		if s, changed := h.redactTokens(v.String()); changed {
			return slog.String(a.Key, s)
		}
	case slog.KindAny:
		// As the text handler would print it: Error for an error, String for a
		// Stringer, the fields of a struct or map otherwise. fmt recovers from
		// a panicking method.
		if s, changed := h.redactTokens(fmt.Sprintf("%+v", v.Any())); changed {
			return slog.String(a.Key, s)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// secretValue reports whether v holds a Secret (or a non-nil *Secret).
func secretValue(v slog.Value) (Secret, bool) {
	var x any
	switch v.Kind() {
	case slog.KindLogValuer:
		x = v.LogValuer()
	case slog.KindAny:
		x = v.Any()
	default:
		return "", false
	}
	switch s := x.(type) {
	case Secret:
		return s, true
	case *Secret:
		if s != nil {
			return *s, true
		}
	}
	return "", false
}

// redactTokens replaces every token-looking substring of s with "[REDACTED]".
func (h *redactingHandler) redactTokens(s string) (string, bool) {
	if s == "" || !h.mayHoldToken(s) {
		return s, false
	}
	out := h.tokens.ReplaceAllLiteralString(s, redacted)
	return out, out != s
}

// mayHoldToken is a cheap test that lets most strings skip the regexp.
func (h *redactingHandler) mayHoldToken(s string) bool {
	for _, hint := range h.hints {
		if strings.Contains(s, hint) {
			return true
		}
	}
	return false
}
