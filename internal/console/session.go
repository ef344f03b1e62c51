package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/connhub/connhub/internal/tenant"
)

// Cookie names. The session cookie holds only a random ID; the sign-in
// cookie only the sign-in form's CSRF token. Neither holds a credential.
const (
	sessionCookie = "connhub_session"
	signinCookie  = "connhub_signin"
)

// session is one signed-in browser. It remembers which API credential signed
// in, or the hashes of the Open Connectors secrets that did, never the
// credential itself: every request loads the credential (or the user and
// organization) again, so revoking the token or changing a secret ends the
// session.
type session struct {
	orgID        string
	userID       string
	credentialID string // signed in with an API token
	// signed in with the User and Organization secrets: their hashes then
	userSecretHash, orgSecretHash []byte
	csrf                          string
	expires                       time.Time
	flash                         *flash // shown once, on the next page
}

// flash is a message carried across a redirect.
type flash struct {
	OK      bool
	Message string
}

// sessions keeps sessions in memory: a restart of connhub signs everyone
// out. They are keyed by the SHA-256 of their ID, so that a lookup's timing
// says nothing about the IDs held.
type sessions struct {
	mu   sync.Mutex
	byID map[[32]byte]*session
	ttl  time.Duration
	now  func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[[32]byte]*session{}, ttl: ttl, now: now}
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for p and returns its ID.
func (s *sessions) create(p tenant.Principal) (string, *session) {
	id := randomToken()
	sess := &session{orgID: p.Org.ID, userID: p.User.ID, csrf: randomToken(), expires: s.now().Add(s.ttl)}
	if p.Credential != nil {
		sess.credentialID = p.Credential.ID
	} else {
		sess.userSecretHash, sess.orgSecretHash = p.User.SecretHash, p.Org.SecretHash
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	s.byID[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

// get returns the live session with the ID, or nil.
func (s *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	key := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.byID[key]
	if sess == nil {
		return nil
	}
	if !s.now().Before(sess.expires) {
		delete(s.byID, key)
		return nil
	}
	return sess
}

// end forgets the session with the ID.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, sha256.Sum256([]byte(id)))
}

// sweepLocked drops expired sessions.
func (s *sessions) sweepLocked() {
	now := s.now()
	for k, sess := range s.byID {
		if !now.Before(sess.expires) {
			delete(s.byID, k)
		}
	}
}

// setFlash leaves a message for the next page.
func (s *sessions) setFlash(sess *session, ok bool, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.flash = &flash{OK: ok, Message: msg}
}

// takeFlash returns the waiting message, once.
func (s *sessions) takeFlash(sess *session) *flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := sess.flash
	sess.flash = nil
	return f
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
