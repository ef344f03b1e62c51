package config

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// HTTP is how `connhub serve` treats its clients, parsed from the settings
// (see [Config.HTTP]).
type HTTP struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	MaxBodiesInFlight int64
	TLSCert, TLSKey   string // both or neither
}

// HTTP returns the HTTP settings parsed. A value Validate would refuse gives
// its default instead.
func (c Config) HTTP() HTTP {
	dur := func(v, def string) time.Duration {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			return d
		}
		d, _ := time.ParseDuration(def)
		return d
	}
	size := func(v, def string) int64 {
		if n, err := ParseSize(v); err == nil && n > 0 {
			return n
		}
		n, _ := ParseSize(def)
		return n
	}
	return HTTP{
		ReadHeaderTimeout: dur(c.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       dur(c.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      dur(c.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       dur(c.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    int(size(c.MaxHeaderBytes, DefaultMaxHeaderBytes)),
		MaxBodiesInFlight: size(c.MaxBodiesInFlight, DefaultMaxBodiesInFlight),
		TLSCert:           c.TLSCert,
		TLSKey:            c.TLSKey,
	}
}

// Bounds on the HTTP settings that Validate holds them to.
const (
	minMaxHeaderBytes = 4 << 10
	maxMaxHeaderBytes = 1 << 20
	// minBodiesInFlight is the proxy's largest body (10 MiB): with less,
	// a call the proxy takes could never be let in.
	minBodiesInFlight = 10 << 20
)

// validateHTTP reports the problems of the HTTP settings.
func (c Config) validateHTTP() []error {
	var errs []error
	bad := func(id settingID, format string, args ...any) {
		errs = append(errs, c.problem(id, format, args...))
	}
	for _, id := range []settingID{setReadHeaderTimeout, setReadTimeout, setWriteTimeout, setIdleTimeout} {
		if v := c.get(id); v != "" {
			if d, err := time.ParseDuration(v); err != nil || d <= 0 {
				bad(id, "want a positive duration, e.g. 30s or 2m")
			}
		}
	}
	if v := c.MaxHeaderBytes; v != "" {
		if n, err := ParseSize(v); err != nil || n < minMaxHeaderBytes || n > maxMaxHeaderBytes {
			bad(setMaxHeaderBytes, "want a size from 4KiB to 1MiB, e.g. 64KiB")
		}
	}
	if v := c.MaxBodiesInFlight; v != "" {
		if n, err := ParseSize(v); err != nil || n < minBodiesInFlight {
			bad(setMaxBodiesInFlight, "want a size of at least 10MiB (the largest body the proxy takes), e.g. 64MiB")
		}
	}
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		bad(setTLSCert, "needs %s too: set both, or neither for plain HTTP", c.missing(setTLSKey, setTLSCert))
	case c.TLSCert == "" && c.TLSKey != "":
		bad(setTLSKey, "needs %s too: set both, or neither for plain HTTP", c.missing(setTLSCert, setTLSKey))
	}
	for _, id := range []settingID{setTLSCert, setTLSKey} {
		if v := c.get(id); v != "" {
			if fi, err := os.Stat(v); err != nil {
				bad(id, "%s", readError(err))
			} else if fi.IsDir() {
				bad(id, "is a directory; want a PEM file")
			}
		}
	}
	return errs
}

// missing names the unset setting id the way its partner set was set: as a
// flag beside a flag, an environment variable beside one, else by its key.
func (c Config) missing(id, partner settingID) string {
	switch c.from[partner].layer {
	case fromFlag:
		return "--" + settings[id].flag
	case fromEnv:
		return settings[id].env
	}
	return settings[id].key
}

// ParseSize reads a size in bytes: digits, then optionally B, KiB, MiB or
// GiB ("64KiB", "10MiB", "4096").
func ParseSize(s string) (int64, error) {
	num, unit := s, int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, unit = rest, u.n
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/unit {
		return 0, errors.New("config: not a size: want digits and KiB, MiB or GiB, e.g. 64MiB")
	}
	return n * unit, nil
}
