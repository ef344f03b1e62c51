package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/connhub/connhub/internal/secrets"
)

// redacted is what a set secrets.Secret prints as, and what stands for any
// other value that must not be shown.
const redacted = "[REDACTED]"

// shown is setting id's value as it may be printed: secrets redacted, and a
// password inside DB replaced by "xxxxx".
func (c *Config) shown(id settingID) string {
	v := c.get(id)
	switch {
	case settings[id].secret:
		return secrets.Secret(v).String()
	case id == setDB:
		return redactDSN(v)
	}
	return v
}

// redactDSN hides the password of a postgres URL, in its user info or its
// query, and any other value that mentions a password (a libpq key=value
// string given by mistake, say).
func redactDSN(v string) string {
	scheme, _, _ := strings.Cut(v, ":")
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
	default:
		if strings.Contains(strings.ToLower(v), "password") {
			return redacted
		}
		return v
	}
	u, err := url.Parse(v)
	if err != nil {
		return redacted
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "password") {
			q.Set(k, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// String shows every setting by its YAML key, with secrets as "[REDACTED]"
// (or "" when unset) and DB's password hidden.
func (c Config) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for id := range numSettings {
		if id > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(settings[id].key)
		b.WriteByte(':')
		b.WriteString(strconv.Quote(c.shown(id)))
	}
	b.WriteByte('}')
	return b.String()
}

// Format prints String for every verb, %#v and %x included, so that no verb
// reaches the fields.
func (c Config) Format(f fmt.State, verb rune) { io.WriteString(f, c.String()) }

// LogValue is a group of every setting by its YAML key, redacted as in String.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, numSettings)
	for id := range numSettings {
		attrs = append(attrs, slog.String(settings[id].key, c.shown(id)))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the settings as the config file spells them, redacted as
// in String.
func (c Config) MarshalJSON() ([]byte, error) {
	type slack struct {
		ClientID      string `json:"client_id"`
		ClientSecret  string `json:"client_secret"`
		SigningSecret string `json:"signing_secret"`
	}
	return json.Marshal(struct {
		DataDir        string `json:"data_dir"`
		DB             string `json:"db"`
		KeyFile        string `json:"key_file"`
		EncryptionKeys string `json:"encryption_keys"`
		AdminToken     string `json:"admin_token"`
		Addr           string `json:"addr"`
		SlackURL       string `json:"slack_url"`
		PublicURL      string `json:"public_url"`
		RateWindow     string `json:"slack_rate_window"`
		LogLevel       string `json:"log_level"`
		LogFormat      string `json:"log_format"`
		Slack          slack  `json:"slack"`
		ReadHeader     string `json:"read_header_timeout"`
		Read           string `json:"read_timeout"`
		Write          string `json:"write_timeout"`
		Idle           string `json:"idle_timeout"`
		MaxHeaderBytes string `json:"max_header_bytes"`
		MaxInFlight    string `json:"max_bodies_in_flight"`
		TLSCert        string `json:"tls_cert"`
		TLSKey         string `json:"tls_key"`
	}{
		c.shown(setDataDir), c.shown(setDB), c.shown(setKeyFile), c.shown(setEncryptionKeys),
		c.shown(setAdminToken), c.shown(setAddr), c.shown(setSlackURL), c.shown(setPublicURL), c.shown(setSlackRateWindow), c.shown(setLogLevel),
		c.shown(setLogFormat),
		slack{c.shown(setSlackClientID), c.shown(setSlackClientSecret), c.shown(setSlackSigningSecret)},
		c.shown(setReadHeaderTimeout), c.shown(setReadTimeout), c.shown(setWriteTimeout), c.shown(setIdleTimeout),
		c.shown(setMaxHeaderBytes), c.shown(setMaxBodiesInFlight), c.shown(setTLSCert), c.shown(setTLSKey),
	})
}
