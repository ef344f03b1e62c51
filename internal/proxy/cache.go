package proxy

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/connhub/connhub/internal/tenant"
)

// authCache remembers successful authentications for a moment, so that a
// burst of calls with one instance token costs one lookup, not one per call.
// A revoked, rotated or deleted instance token stops working within ttl.
type authCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[[32]byte]cached
}

type cached struct {
	p       tenant.Principal
	expires time.Time
}

const authCacheMax = 10_000

// authenticate answers from the cache, else asks a (AuthenticateFrom
// remoteAddr, so failures are throttled there; a header that authenticated
// within ttl passes without a look at the throttle).
func (c *authCache) authenticate(ctx context.Context, a *tenant.Authenticator, remoteAddr, header string) (tenant.Principal, error) {
	key := sha256.Sum256([]byte(header))
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.m[key]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.p, nil
	}
	c.mu.Unlock()
	p, err := a.AuthenticateFrom(ctx, remoteAddr, header)
	if err != nil {
		return p, err
	}
	c.mu.Lock()
	if len(c.m) >= authCacheMax {
		clear(c.m)
	}
	c.m[key] = cached{p: p, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return p, nil
}
