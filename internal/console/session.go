package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Cookie names. The session cookie holds only a random ID; the sign-in
// cookie only the sign-in form's CSRF token. Neither holds a credential.
const (
	sessionCookie = "connhub_session"
	signinCookie  = "connhub_signin"
)

// session is one signed-in browser, as the store keeps it: which API
// credential signed in, or the hashes of the Open Connectors secrets that
// did, never the credential itself. Every request loads the credential (or
// the user and organization) again, so revoking the token or changing a
// secret ends the session.
type session struct {
	store.ConsoleSession
	// csrf is derived from the session ID (csrfToken), which only the
	// browser's cookie holds: it is in no row.
	csrf string
}

// flash is a message carried across a redirect.
type flash = store.ConsoleFlash

// sessions keeps console sessions in the store, so that any replica on the
// database carries a browser's session on and a restart signs no one out.
// A session is stored under the SHA-256 of its ID, never the ID itself;
// its lookups are by that hash, so their timing says nothing about the IDs
// held.
type sessions struct {
	store store.Store
	ttl   time.Duration
	now   func() time.Time
}

// sweepLimit bounds the expired sessions one sign-in deletes: each session
// is made once and expires once, so sweeping a few at every sign-in keeps
// up, and no sign-in waits on a large delete.
const sweepLimit = 100

func newSessions(st store.Store, ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{store: st, ttl: ttl, now: now}
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfLabel is what a session's CSRF token is the HMAC of.
const csrfLabel = "connhub console CSRF token v1"

// csrfToken is the CSRF token of the session with the ID:
// HMAC-SHA256(key: the ID, message: csrfLabel), base64url. It is the same
// on every replica and for the session's whole life, is stored nowhere, and
// gives nothing away about the ID (HMAC is a pseudorandom function of its
// key).
func csrfToken(id string) string {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte(csrfLabel))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// create starts a session for p and returns its ID, after sweeping a few
// expired sessions away.
func (s *sessions) create(ctx context.Context, p tenant.Principal) (string, *session, error) {
	now := s.now()
	if _, err := s.store.DeleteExpiredConsoleSessions(ctx, now, sweepLimit); err != nil {
		return "", nil, err
	}
	id := randomToken()
	cs := store.ConsoleSession{IDHash: secrets.HashToken(id), OrgID: p.Org.ID, UserID: p.User.ID, CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	if p.Credential != nil {
		cs.CredentialID = p.Credential.ID
	} else {
		cs.UserSecretHash, cs.OrgSecretHash = p.User.SecretHash, p.Org.SecretHash
	}
	cs, err := s.store.CreateConsoleSession(ctx, cs)
	if err != nil {
		return "", nil, err
	}
	return id, &session{ConsoleSession: cs, csrf: csrfToken(id)}, nil
}

// get returns the live session with the ID, or nil: none has it, or it
// expired.
func (s *sessions) get(ctx context.Context, id string) (*session, error) {
	if id == "" {
		return nil, nil
	}
	cs, err := s.store.GetConsoleSession(ctx, secrets.HashToken(id), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &session{ConsoleSession: cs, csrf: csrfToken(id)}, nil
}

// end deletes the session with the ID, if there is one.
func (s *sessions) end(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return s.store.DeleteConsoleSession(ctx, secrets.HashToken(id))
}

// setFlash leaves a message for the next page.
func (s *sessions) setFlash(ctx context.Context, sess *session, ok bool, msg string) error {
	return s.store.SetConsoleFlash(ctx, sess.IDHash, flash{OK: ok, Message: msg})
}

// takeFlash returns the waiting message, once, whichever replica serves the
// next page; a session without one costs no write.
func (s *sessions) takeFlash(ctx context.Context, sess *session) (*flash, error) {
	if !sess.FlashWaiting {
		return nil, nil
	}
	sess.FlashWaiting = false
	return s.store.TakeConsoleFlash(ctx, sess.IDHash)
}

// sameToken compares two CSRF tokens in constant time; an empty one never
// matches.
func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// cookie is a console cookie: HttpOnly, SameSite=Lax, Path=/, and Secure
// when the request came over https (directly or through a proxy that says
// so).
func cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isHTTPS(r)}
}

func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
