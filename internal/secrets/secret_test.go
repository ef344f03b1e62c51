package secrets_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/secrets"
)

const secretValue = "xoxb-hunter2-value"

func TestSecretFmt(t *testing.T) {
	t.Parallel()
	s := secrets.Secret(secretValue)
	type holder struct {
		Name  string
		Token secrets.Secret
	}
	h := holder{Name: "bot", Token: s}
	tests := []struct {
		format string
		arg    any
		want   string
	}{
		{"%v", s, "[REDACTED]"},
		{"%s", s, "[REDACTED]"},
		{"%q", s, `"[REDACTED]"`},
		{"%+v", s, "[REDACTED]"},
		{"%#v", s, `"[REDACTED]"`},
		{"%x", s, "[REDACTED]"},
		{"%X", s, "[REDACTED]"},
		{"%d", s, "[REDACTED]"},
		{"%10s", s, "[REDACTED]"},
		{"%v", &s, "[REDACTED]"},
		{"%v", h, "{bot [REDACTED]}"},
		{"%+v", h, "{Name:bot Token:[REDACTED]}"},
		{"%#v", h, `secrets_test.holder{Name:"bot", Token:"[REDACTED]"}`},
		{"%v", []secrets.Secret{s, ""}, "[[REDACTED] ]"},
		{"%v", map[string]secrets.Secret{"t": s}, "map[t:[REDACTED]]"},
		{"%v", secrets.Secret(""), ""},
		{"%q", secrets.Secret(""), `""`},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			if got := fmt.Sprintf(tt.format, tt.arg); got != tt.want {
				t.Errorf("Sprintf(%q): got %q, want %q", tt.format, got, tt.want)
			}
		})
	}
	if got := s.String(); got != "[REDACTED]" {
		t.Errorf("String: got %q, want %q", got, "[REDACTED]")
	}
	if got := s.GoString(); got != `"[REDACTED]"` {
		t.Errorf("GoString: got %q, want %q", got, `"[REDACTED]"`)
	}
	if got := fmt.Sprint(s) + fmt.Sprintln(s); strings.Contains(got, secretValue) {
		t.Errorf("Sprint: got %q, want no secret", got)
	}
}

func TestSecretRevealAndIsZero(t *testing.T) {
	t.Parallel()
	if got := secrets.Secret(secretValue).Reveal(); got != secretValue {
		t.Errorf("Reveal: got %q, want %q", got, secretValue)
	}
	if got := secrets.Secret("").IsZero(); !got {
		t.Errorf("IsZero of empty: got %v, want true", got)
	}
	if got := secrets.Secret("x").IsZero(); got {
		t.Errorf("IsZero of x: got %v, want false", got)
	}
}

func TestSecretSlog(t *testing.T) {
	t.Parallel()
	type creds struct {
		User  string
		Token secrets.Secret
	}
	for _, tt := range []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log := slog.New(tt.new(&buf))
			s := secrets.Secret(secretValue)
			log.Info("m", "plain", s, "ptr", &s, "creds", creds{User: "u", Token: s}, slog.Group("g", "inner", s))
			log.With("with", s).Info("m2")
			got := buf.String()
			if strings.Contains(got, secretValue) {
				t.Errorf("got %s, want no secret", got)
			}
			if n := strings.Count(got, "[REDACTED]"); n < 5 {
				t.Errorf("got %d [REDACTED] in %s, want at least 5", n, got)
			}
		})
	}
}

func TestSecretJSON(t *testing.T) {
	t.Parallel()
	s := secrets.Secret(secretValue)
	type config struct {
		ClientID     string         `json:"client_id"`
		ClientSecret secrets.Secret `json:"client_secret"`
		Unset        secrets.Secret `json:"unset"`
		Ptr          *secrets.Secret
	}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"value", s, `"[REDACTED]"`},
		{"empty", secrets.Secret(""), `""`},
		{"struct", config{ClientID: "123.456", ClientSecret: s, Ptr: &s}, `{"client_id":"123.456","client_secret":"[REDACTED]","unset":"","Ptr":"[REDACTED]"}`},
		{"map value", map[string]secrets.Secret{"a": s}, `{"a":"[REDACTED]"}`},
		{"slice", []secrets.Secret{s}, `["[REDACTED]"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	text, err := s.MarshalText()
	if err != nil || string(text) != "[REDACTED]" {
		t.Errorf("MarshalText: got %q, %v, want [REDACTED]", text, err)
	}
}

func TestSecretUnmarshal(t *testing.T) {
	t.Parallel()
	var c struct {
		Secret secrets.Secret `json:"secret"`
	}
	if err := json.Unmarshal([]byte(`{"secret":"s3cr3t"}`), &c); err != nil || c.Secret.Reveal() != "s3cr3t" {
		t.Errorf("Unmarshal: got %q, %v, want s3cr3t", c.Secret.Reveal(), err)
	}
	// What connhub printed must not come back as the secret.
	if err := json.Unmarshal([]byte(`{"secret":"[REDACTED]"}`), &c); err == nil {
		t.Errorf("Unmarshal of [REDACTED]: got nil error, want refused")
	}
}
