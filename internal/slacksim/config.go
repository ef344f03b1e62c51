package slacksim

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config says what the sandbox emulates. The zero value is not ready: call
// WithDefaults, then Validate.
type Config struct {
	Seed       int64   // the workspace is generated from it
	Users      int     // accounts to generate, Slackbot not counted
	Channels   int     // channels to generate across all workspaces
	Workspaces int     // workspaces in the org, Enterprise Grid only
	Edition    Edition // the Slack plan

	RateLimits bool          // answer 429 past a method's tier budget
	RateWindow time.Duration // the length of Slack's one-minute rate window

	TokenRotation bool          // issue expiring access tokens with refresh tokens
	TokenTTL      time.Duration // access-token lifetime under rotation

	// RedirectURLs are the app's registered redirect URLs. When empty, any
	// loopback http(s) URL is accepted, which suits a sandbox on one machine.
	RedirectURLs []string

	// AppName is the pre-registered app's name, shown on the consent page.
	AppName string

	// EventAckTimeout is how long an event delivery waits for its 2xx before
	// it counts as http_timeout: Slack's 3 seconds by default. It is not
	// scaled by RateWindow; tests shorten it here.
	EventAckTimeout time.Duration

	// LogRequests logs one line per Web API call (method, status, error code;
	// never a token).
	LogRequests bool

	// Now is the sandbox's clock; nil means time.Now. The controls can move the
	// sandbox clock forward on top of it.
	Now func() time.Time
}

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Users == 0 {
		c.Users = 200
	}
	if c.Channels == 0 {
		c.Channels = 40
	}
	if c.Workspaces == 0 {
		c.Workspaces = 3
	}
	if c.Edition == "" {
		c.Edition = EditionBusinessPlus
	}
	if c.RateWindow == 0 {
		c.RateWindow = time.Minute
	}
	if c.TokenTTL == 0 {
		c.TokenTTL = 12 * time.Hour
	}
	if c.EventAckTimeout == 0 {
		c.EventAckTimeout = 3 * time.Second
	}
	if c.AppName == "" {
		c.AppName = "connhub"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// DefaultConfig is the configuration `connhub sandbox` starts with: rate limits
// and token rotation on, as on a real Slack app with rotation enabled.
func DefaultConfig() Config {
	return Config{RateLimits: true, TokenRotation: true}.WithDefaults()
}

// MaxUsers bounds --users so that a typo cannot exhaust memory.
const MaxUsers = 1_000_000

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Users < 1 || c.Users > MaxUsers {
		errs = append(errs, fmt.Errorf("users must be between 1 and %d, got %d", MaxUsers, c.Users))
	}
	if c.Channels < 2 || c.Channels > 100_000 {
		errs = append(errs, fmt.Errorf("channels must be between 2 and 100000, got %d", c.Channels))
	}
	if c.Workspaces < 1 || c.Workspaces > 50 {
		errs = append(errs, fmt.Errorf("workspaces must be between 1 and 50, got %d", c.Workspaces))
	}
	valid := false
	for _, e := range Editions {
		valid = valid || e == c.Edition
	}
	if !valid {
		errs = append(errs, fmt.Errorf("edition must be one of free, pro, business_plus, enterprise_grid; got %q", c.Edition))
	}
	if c.RateWindow < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("rate window must be at least 10ms, got %s", c.RateWindow))
	}
	if c.EventAckTimeout < 10*time.Millisecond || c.EventAckTimeout > time.Minute {
		errs = append(errs, fmt.Errorf("event ack timeout must be between 10ms and 1m, got %s", c.EventAckTimeout))
	}
	if c.TokenTTL < time.Second {
		errs = append(errs, fmt.Errorf("token TTL must be at least 1s, got %s", c.TokenTTL))
	}
	for _, r := range c.RedirectURLs {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("redirect URL %q must be an absolute http(s) URL without a fragment", r))
		}
	}
	if strings.TrimSpace(c.AppName) == "" {
		errs = append(errs, errors.New("app name must not be empty"))
	}
	return errors.Join(errs...)
}
