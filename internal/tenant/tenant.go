package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// Token prefixes: they tell connhub's credentials apart at a glance, and let
// log redaction recognise them.
const (
	APITokenPrefix      = "chub" // a user's API token
	InstanceTokenPrefix = "chi"  // a connector instance's token
	UserSecretPrefix    = "chus" // Open Connectors "User" secret
	OrgSecretPrefix     = "chos" // Open Connectors "Organization" secret
)

// Principal is who a request is from.
type Principal struct {
	Org  store.Organization
	User store.User // zero when an instance token authenticated alone
	// Credential is the API credential used, if any.
	Credential *store.APICredential
	// Instance is the instance selected by an instance token or an Element
	// part, if any.
	Instance *store.Instance
	// Via names how the request authenticated: "api_token",
	// "instance_token" or "open_connectors".
	Via string
}

// IsAdmin reports whether the principal is an organization admin.
func (p Principal) IsAdmin() bool { return p.User.Role == store.RoleAdmin }

// AuthError is why a request could not be authenticated. Its Code is stable;
// its message never contains the credential.
type AuthError struct {
	Code    string // missing_credentials, malformed_credentials, invalid_credentials, revoked_credentials, expired_credentials
	Message string
}

func (e *AuthError) Error() string { return e.Message }

var errInvalid = &AuthError{"invalid_credentials", "the credentials are not valid for any organization"}

// Authenticator resolves Authorization headers against the store.
type Authenticator struct {
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Throttle, when set, limits failed attempts per source and credential
	// in AuthenticateFrom (and so in Middleware).
	Throttle *Throttle
	// Metrics, when set, counts AuthenticateFrom's failures.
	Metrics *Metrics
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// lastUsedEvery bounds how often a credential's LastUsedAt is written: once a
// minute is precise enough and spares a write per request.
const lastUsedEvery = time.Minute

// Authenticate resolves an Authorization header value.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (Principal, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return Principal{}, &AuthError{"missing_credentials", "send Authorization: Bearer <API token or instance token>, or User <secret>, Organization <secret>[, Element <instance token>]"}
	}
	scheme, rest, _ := strings.Cut(header, " ")
	if strings.EqualFold(scheme, "Bearer") {
		return a.bearer(ctx, strings.TrimSpace(rest))
	}
	switch strings.ToLower(scheme) {
	case "user", "organization", "element":
		return a.openConnectors(ctx, header)
	}
	return Principal{}, &AuthError{"malformed_credentials", "the Authorization scheme must be Bearer, or the Open Connectors form User …, Organization …"}
}

func (a *Authenticator) bearer(ctx context.Context, token string) (Principal, error) {
	switch {
	case strings.HasPrefix(token, APITokenPrefix+"_"):
		return a.apiToken(ctx, token)
	case strings.HasPrefix(token, InstanceTokenPrefix+"_"):
		in, err := a.instance(ctx, "", token)
		if err != nil {
			return Principal{}, err
		}
		org, err := a.Store.GetOrganization(ctx, in.OrgID)
		if err != nil {
			return Principal{}, a.lookupErr(err)
		}
		return Principal{Org: org, Instance: &in, Via: "instance_token"}, nil
	case token == "":
		return Principal{}, &AuthError{"malformed_credentials", "the Bearer credentials are empty"}
	}
	return Principal{}, &AuthError{"malformed_credentials", "the Bearer token is not a connhub token (API tokens start with " + APITokenPrefix + "_, instance tokens with " + InstanceTokenPrefix + "_)"}
}

func (a *Authenticator) apiToken(ctx context.Context, token string) (Principal, error) {
	hash := secrets.HashToken(token)
	c, err := a.Store.APICredentialByTokenHash(ctx, hash)
	if err != nil || !secrets.TokenMatches(c.TokenHash, token) {
		return Principal{}, a.lookupErr(err)
	}
	now := a.now()
	if !c.RevokedAt.IsZero() {
		a.failed(ctx, c.OrgID, "user", c.UserID, c.ID, "revoked_credentials")
		return Principal{}, &AuthError{"revoked_credentials", "the API token was revoked"}
	}
	if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt) {
		a.failed(ctx, c.OrgID, "user", c.UserID, c.ID, "expired_credentials")
		return Principal{}, &AuthError{"expired_credentials", "the API token has expired"}
	}
	org, err := a.Store.GetOrganization(ctx, c.OrgID)
	if err != nil {
		return Principal{}, a.lookupErr(err)
	}
	u, err := a.Store.GetUser(ctx, c.OrgID, c.UserID)
	if err != nil {
		return Principal{}, a.lookupErr(err)
	}
	if now.Sub(c.LastUsedAt) > lastUsedEvery {
		c = a.used(ctx, c, u, now)
	}
	p := Principal{Org: org, User: u, Credential: &c, Via: "api_token"}
	return a.bind(ctx, p, "")
}

// bind gives a service identity (store.RoleService) its instance: it acts
// for that instance only, and an Element it sends must name the same one.
// People are passed through.
func (a *Authenticator) bind(ctx context.Context, p Principal, element string) (Principal, error) {
	if p.User.Role != store.RoleService {
		return p, nil
	}
	in, err := a.Store.GetInstance(ctx, p.Org.ID, p.User.InstanceID)
	if err != nil {
		return Principal{}, a.lookupErr(err)
	}
	if element != "" && !secrets.TokenMatches(in.InstanceTokenHash, element) {
		return Principal{}, errInvalid
	}
	p.Instance = &in
	return p, nil
}

// used notes that an API token was used: its LastUsedAt, and, with it, an
// auth.token_use event in the audit log (the API's sign-in: at most one a
// minute for a token, with the address it came from). Best effort: a
// failure to note the use must not fail the request.
func (a *Authenticator) used(ctx context.Context, c store.APICredential, u store.User, now time.Time) store.APICredential {
	r, kind := RequestOf(ctx), "user"
	if u.Role == store.RoleService {
		kind = "service"
	}
	var up store.APICredential
	err := a.Store.InTx(ctx, func(q store.Queries) (err error) {
		if up, err = q.UpdateAPICredential(ctx, c.OrgID, c.ID, func(c *store.APICredential) error { c.LastUsedAt = now; return nil }); err != nil {
			return err
		}
		_, err = q.AppendAudit(ctx, store.AuditEvent{OrgID: c.OrgID, ActorKind: kind, ActorID: c.UserID, CredentialID: c.ID, SourceIP: r.SourceIP,
			RequestID: r.ID, Action: "auth.token_use", TargetType: "token", TargetID: c.ID})
		return err
	})
	if err != nil {
		return c
	}
	return up
}

// failed records a refused authentication in the organization's audit log,
// where the credentials named one. It is a record of what was refused, not
// the refusal: a failure to write it is not the caller's to see.
func (a *Authenticator) failed(ctx context.Context, orgID, actorKind, actorID, credentialID, reason string) {
	r := RequestOf(ctx)
	a.Store.AppendAudit(context.WithoutCancel(ctx), store.AuditEvent{OrgID: orgID, ActorKind: actorKind, ActorID: actorID, CredentialID: credentialID,
		SourceIP: r.SourceIP, RequestID: r.ID, Action: "auth.failed", Outcome: "denied", Details: map[string]any{"reason": reason}})
}

// instance finds an instance by its token, in orgID when it is not empty.
func (a *Authenticator) instance(ctx context.Context, orgID, token string) (store.Instance, error) {
	in, err := a.Store.InstanceByTokenHash(ctx, secrets.HashToken(token))
	if err != nil || !secrets.TokenMatches(in.InstanceTokenHash, token) || (orgID != "" && in.OrgID != orgID) {
		return store.Instance{}, a.lookupErr(err)
	}
	return in, nil
}

// lookupErr hides why a lookup failed: not found and another organization's
// row look alike. Store failures are passed on to be answered as such.
func (a *Authenticator) lookupErr(err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return errInvalid
	}
	return fmt.Errorf("tenant: authenticate: %w", err)
}

// openConnectors parses "User <s>, Organization <s>[, Element <t>]", the parts
// in any order, names matched without regard to case.
func (a *Authenticator) openConnectors(ctx context.Context, header string) (Principal, error) {
	parts := map[string]string{}
	for _, part := range strings.Split(header, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), " ")
		name, value = strings.ToLower(name), strings.TrimSpace(value)
		if !ok || value == "" || (name != "user" && name != "organization" && name != "element") || parts[name] != "" {
			return Principal{}, &AuthError{"malformed_credentials", "the Open Connectors form is User <secret>, Organization <secret>, and optionally Element <instance token>, separated by commas"}
		}
		parts[name] = value
	}
	if parts["user"] == "" || parts["organization"] == "" {
		return Principal{}, &AuthError{"malformed_credentials", "the Open Connectors form needs both User and Organization"}
	}
	org, err := a.Store.OrganizationBySecretHash(ctx, secrets.HashToken(parts["organization"]))
	if err != nil || !secrets.TokenMatches(org.SecretHash, parts["organization"]) {
		return Principal{}, a.lookupErr(err)
	}
	u, err := a.Store.UserBySecretHash(ctx, org.ID, secrets.HashToken(parts["user"]))
	if err != nil || !secrets.TokenMatches(u.SecretHash, parts["user"]) {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			// The organization's secret was right: someone who holds it
			// is trying user secrets.
			a.failed(ctx, org.ID, "anonymous", "", "open_connectors", "invalid_user_secret")
		}
		return Principal{}, a.lookupErr(err)
	}
	p := Principal{Org: org, User: u, Via: "open_connectors"}
	if u.Role == store.RoleService {
		return a.bind(ctx, p, parts["element"])
	}
	if el := parts["element"]; el != "" {
		in, err := a.instance(ctx, org.ID, el)
		if err != nil {
			return Principal{}, err
		}
		p.Instance = &in
	}
	return p, nil
}

type principalKey struct{}

// FromContext returns the principal the middleware authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// Middleware authenticates every request (AuthenticateFrom, from
// r.RemoteAddr) and answers 401, 429 with Retry-After when throttled, or 500
// when the store fails, before next runs.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.AuthenticateFrom(r.Context(), r.RemoteAddr, r.Header.Get("Authorization"))
		var ae *AuthError
		var te *ThrottledError
		switch {
		case errors.As(err, &te):
			w.Header().Set("Retry-After", te.RetryAfterSeconds())
			apierror.Write(w, http.StatusTooManyRequests, ThrottledCode, te.Error())
			return
		case errors.As(err, &ae):
			w.Header().Set("WWW-Authenticate", `Bearer realm="connhub"`)
			apierror.Write(w, http.StatusUnauthorized, ae.Code, ae.Message)
			return
		case err != nil:
			apierror.Write(w, http.StatusInternalServerError, "internal_error", "the credentials could not be checked; try again")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}
