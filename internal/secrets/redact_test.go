package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/connhub/connhub/internal/secrets"
)

// setupLog returns a logger writing JSON through RedactingHandler, and a
// function that decodes the one line it logged.
func setupLog(t *testing.T, prefixes ...string) (*slog.Logger, *bytes.Buffer, func() map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(secrets.RedactingHandler(slog.NewJSONHandler(&buf, nil), prefixes...))
	return log, &buf, func() map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", buf.String(), err)
		}
		return m
	}
}

const leak = "s3cr3t-VALUE-that-must-not-appear"

func TestRedactingHandlerSensitiveKeys(t *testing.T) {
	t.Parallel()
	keys := []string{
		"token", "secret", "password", "passwd", "authorization", "cookie",
		"client_secret", "refresh_token", "access_token", "signing_secret",
		"api_key", "key_material", "encryption_keys",
		// Case-insensitive, and any key ending with one of them.
		"TOKEN", "Authorization", "Set-Cookie", "bot_token", "botToken",
		"X-Client-Secret", "SLACK_SIGNING_SECRET", "db_password", "slack_api_key",
		"CONNHUB_ENCRYPTION_KEYS", "instance.token",
	}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			log, buf, line := setupLog(t)
			log.Info("m", key, leak)
			if got := line()[key]; got != "[REDACTED]" {
				t.Errorf("got %q=%v, want [REDACTED]", key, got)
			}
			if strings.Contains(buf.String(), leak) {
				t.Errorf("got %s, want no secret", buf)
			}
			if !secrets.IsSensitiveKey(key) {
				t.Errorf("IsSensitiveKey(%q): got false, want true", key)
			}
		})
	}
}

func TestRedactingHandlerRedactsWhateverTheValue(t *testing.T) {
	t.Parallel()
	log, buf, line := setupLog(t)
	log.Info("m",
		"password", 12345678,
		"client_secret", []byte(leak),
		"token", struct{ V string }{leak},
		slog.Group("refresh_token", "v", leak),
		"cookie", errors.New(leak),
	)
	m := line()
	for _, k := range []string{"password", "client_secret", "token", "refresh_token", "cookie"} {
		if m[k] != "[REDACTED]" {
			t.Errorf("%s: got %v, want [REDACTED]", k, m[k])
		}
	}
	if strings.Contains(buf.String(), leak) || strings.Contains(buf.String(), "12345678") {
		t.Errorf("got %s, want no secret", buf)
	}
}

func TestRedactingHandlerPassesOthersUnchanged(t *testing.T) {
	t.Parallel()
	log, _, line := setupLog(t, "chub")
	log.Info("instance created",
		"token_type", "bot",
		"key", "cache-key",
		"tokens_used", 3,
		"team_id", "T0123",
		"ok", true,
		"scopes", []string{"chat:write", "users:read"},
		"id", "chub_short",
		"word", "xoxo hugs",
		"url", "https://slack.com/api/users.list?limit=200",
		slog.Group("http", "method", "GET", "status", 200),
	)
	m := line()
	want := map[string]any{
		"msg":         "instance created",
		"token_type":  "bot",
		"key":         "cache-key",
		"tokens_used": float64(3),
		"team_id":     "T0123",
		"ok":          true,
		"scopes":      []any{"chat:write", "users:read"},
		"id":          "chub_short",
		"word":        "xoxo hugs",
		"url":         "https://slack.com/api/users.list?limit=200",
		"http":        map[string]any{"method": "GET", "status": float64(200)},
	}
	for k, w := range want {
		if got := m[k]; fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: got %v, want %v", k, got, w)
		}
	}
}

func TestRedactingHandlerSecretValues(t *testing.T) {
	t.Parallel()
	log, buf, line := setupLog(t)
	s := secrets.Secret(leak)
	log.Info("m", "innocent", s, "ptr", &s, "unset", secrets.Secret(""))
	m := line()
	if m["innocent"] != "[REDACTED]" || m["ptr"] != "[REDACTED]" {
		t.Errorf("got innocent=%v ptr=%v, want [REDACTED]", m["innocent"], m["ptr"])
	}
	if got, ok := m["unset"]; !ok || got != "" {
		t.Errorf("unset: got %v (present %v), want \"\"", got, ok)
	}
	if strings.Contains(buf.String(), leak) {
		t.Errorf("got %s, want no secret", buf)
	}
}

func TestRedactingHandlerTokenLookingValues(t *testing.T) {
	t.Parallel()
	own := "chub_" + strings.Repeat("aZ9", 14) + "x" // 43 base62 digits
	inst := "inst_" + strings.Repeat("Q", 43)
	material := b64(newKey(t, "k", 1).Material)
	u, err := url.Parse("https://hooks.example/cb?token=xoxb-111-222-abcDEF&x=1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		value any
		want  string
		leak  string
	}{
		{"bot", "xoxb-1234-5678-AbCdEf", "[REDACTED]", "xoxb-1234"},
		{"user", "xoxp-1-2-3-abcdef0123", "[REDACTED]", "abcdef0123"},
		{"app config", "xoxe.xoxp-1-Mi0yLTEyMzQ1Ng", "[REDACTED]", "Mi0yLTEyMzQ1Ng"},
		{"rotating bot", "xoxe.xoxb-1-" + strings.Repeat("ab", 30), "[REDACTED]", "xoxb"},
		{"refresh", "xoxe-1-" + strings.Repeat("cd", 40), "[REDACTED]", "cdcd"},
		{"legacy", "xoxa-2-abc", "[REDACTED]", "xoxa-2"},
		{"workspace", "xoxs-abc", "[REDACTED]", "xoxs-abc"},
		{"app-level", "xapp-1-A012-345-abc", "[REDACTED]", "xapp-1"},
		{"connhub", own, "[REDACTED]", own},
		{"second prefix", inst, "[REDACTED]", inst},
		{"inside text", "calling with xoxb-1-2-secret now", "calling with [REDACTED] now", "xoxb-1"},
		{"two in text", "a=xoxp-1-x b=" + own, "a=[REDACTED] b=[REDACTED]", "xoxp-1"},
		{"error", fmt.Errorf("slack: invalid_auth for token xoxb-9-9-zz"), "slack: invalid_auth for token [REDACTED]", "xoxb-9"},
		{"url", u, "https://hooks.example/cb?token=[REDACTED]&x=1", "xoxb-111"},
		{"struct", struct{ T string }{"xoxb-7-7"}, "{T:[REDACTED]}", "xoxb-7"},
		{"key material", "k1:" + material, "k1:[REDACTED]", material},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log, buf, line := setupLog(t, "chub", "inst")
			log.Info("m", "v", tt.value)
			if got := line()["v"]; got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if strings.Contains(buf.String(), tt.leak) {
				t.Errorf("got %s, want no %q", buf, tt.leak)
			}
		})
	}
}

func TestRedactingHandlerMessage(t *testing.T) {
	t.Parallel()
	log, buf, line := setupLog(t)
	log.Info("exchanged code for xoxb-1-2-3")
	if got, want := line()["msg"], "exchanged code for [REDACTED]"; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if strings.Contains(buf.String(), "xoxb-1") {
		t.Errorf("got %s, want no token", buf)
	}
}

func TestRedactingHandlerNestedGroups(t *testing.T) {
	t.Parallel()
	log, buf, line := setupLog(t)
	log.Info("m", slog.Group("oauth",
		"access_token", leak+"1",
		"team", "T1",
		slog.Group("app",
			"client_secret", leak+"2",
			"client_id", "123.456",
			slog.Group("deeper", "note", "xoxb-1-deep", "value", secrets.Secret(leak+"3")),
		),
	))
	want := map[string]any{
		"access_token": "[REDACTED]",
		"team":         "T1",
		"app": map[string]any{
			"client_secret": "[REDACTED]",
			"client_id":     "123.456",
			"deeper":        map[string]any{"note": "[REDACTED]", "value": "[REDACTED]"},
		},
	}
	if got := line()["oauth"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if strings.Contains(buf.String(), leak) {
		t.Errorf("got %s, want no secret", buf)
	}
}

func TestRedactingHandlerWithAttrsAndGroups(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string // the line, less time and level
	}{
		{"WithAttrs", func(l *slog.Logger) {
			l.With("api_key", leak, "team", "T1").Info("m", "n", 1)
		}, `{"msg":"m","api_key":"[REDACTED]","team":"T1","n":1}`},
		{"WithAttrs Secret", func(l *slog.Logger) {
			l.With("v", secrets.Secret(leak)).Info("m")
		}, `{"msg":"m","v":"[REDACTED]"}`},
		{"WithAttrs group", func(l *slog.Logger) {
			l.With(slog.Group("slack", "signing_secret", leak, "app", "A1")).Info("m")
		}, `{"msg":"m","slack":{"signing_secret":"[REDACTED]","app":"A1"}}`},
		{"WithGroup then attrs", func(l *slog.Logger) {
			l.WithGroup("creds").With("password", leak).Info("m", "user", "u")
		}, `{"msg":"m","creds":{"password":"[REDACTED]","user":"u"}}`},
		{"sensitive WithGroup", func(l *slog.Logger) {
			l.WithGroup("client_secret").With("a", leak).Info("m", "b", leak, slog.Group("c", "d", leak))
		}, `{"msg":"m","client_secret":{"a":"[REDACTED]","b":"[REDACTED]","c":{"d":"[REDACTED]"}}}`},
		{"WithAttrs token value", func(l *slog.Logger) {
			l.With("bot", "xoxb-1-1").Info("m")
		}, `{"msg":"m","bot":"[REDACTED]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
					return slog.Attr{}
				}
				return a
			}})
			tt.log(slog.New(secrets.RedactingHandler(h)))
			if got := strings.TrimSpace(buf.String()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// lazy is a LogValuer whose value holds a secret only once resolved.
type lazy struct{}

func (lazy) LogValue() slog.Value {
	return slog.GroupValue(slog.String("refresh_token", leak), slog.String("team", "T1"))
}

func TestRedactingHandlerResolvesLogValuers(t *testing.T) {
	t.Parallel()
	log, buf, line := setupLog(t)
	log.Info("m", "grant", lazy{})
	if got := fmt.Sprint(line()["grant"]); got != "map[refresh_token:[REDACTED] team:T1]" {
		t.Errorf("got %s, want map[refresh_token:[REDACTED] team:T1]", got)
	}
	if strings.Contains(buf.String(), leak) {
		t.Errorf("got %s, want no secret", buf)
	}
}

func TestRedactingHandlerTextAndKeys(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(secrets.RedactingHandler(slog.NewTextHandler(&buf, nil), "chub"))
	k := newKey(t, "k1", 4)
	type cfg struct {
		Keys []secrets.Key // %+v calls Key.String, which reveals: the handler must catch it
	}
	log.Info("m", "key", k, "cfg", cfg{Keys: []secrets.Key{k}}, "Authorization", "Bearer "+leak)
	got := buf.String()
	if strings.Contains(got, b64(k.Material)) || strings.Contains(got, leak) {
		t.Errorf("got %s, want no key material or secret", got)
	}
	if !strings.Contains(got, "Authorization=[REDACTED]") {
		t.Errorf("got %s, want Authorization=[REDACTED]", got)
	}
}

func TestRedactingHandlerEnabled(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	h := secrets.RedactingHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) {
		t.Errorf("Enabled(Info) under a Warn handler: got true, want false")
	}
	if !h.Enabled(context.Background(), slog.LevelError) {
		t.Errorf("Enabled(Error) under a Warn handler: got false, want true")
	}
	slog.New(h).Info("m", "token", leak)
	if buf.Len() != 0 {
		t.Errorf("got %s, want nothing logged below Warn", buf.String())
	}
}
