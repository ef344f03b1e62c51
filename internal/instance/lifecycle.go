package instance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// get loads an instance of the caller's organization. A principal that came
// with an instance token may touch only that instance.
func (s *Service) get(ctx context.Context, p tenant.Principal, id string) (store.Instance, error) {
	if p.Instance != nil && p.User.ID == "" && p.Instance.ID != id {
		return store.Instance{}, errNotFound
	}
	in, err := s.store.GetInstance(ctx, p.Org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return in, errNotFound
	}
	return in, err
}

// Get returns an instance.
func (s *Service) Get(ctx context.Context, p tenant.Principal, id string) (store.Instance, error) {
	return s.get(ctx, p, id)
}

// List lists the organization's instances.
func (s *Service) List(ctx context.Context, p tenant.Principal, f store.InstanceFilter, page store.Page) ([]store.Instance, string, error) {
	if p.Instance != nil && p.User.ID == "" {
		in, err := s.get(ctx, p, p.Instance.ID)
		return []store.Instance{in}, "", err
	}
	return s.store.ListInstances(ctx, p.Org.ID, f, page)
}

// Patch changes what an instance is called and how it behaves, never its
// tokens: nil fields stay as they are.
type Patch struct {
	Name     *string
	Tags     *[]string
	Settings map[string]any // merged into the settings; a nil value removes a key
}

// Update applies a Patch without re-authenticating.
func (s *Service) Update(ctx context.Context, p tenant.Principal, id string, patch Patch) (store.Instance, error) {
	if _, err := s.get(ctx, p, id); err != nil {
		return store.Instance{}, err
	}
	ci := CreateInput{Name: "x"}
	if patch.Name != nil {
		ci.Name = *patch.Name
	}
	if patch.Tags != nil {
		ci.Tags = *patch.Tags
	}
	if err := ci.validate(); err != nil {
		return store.Instance{}, err
	}
	in, err := s.store.UpdateInstance(ctx, p.Org.ID, id, func(in *store.Instance) error {
		if patch.Name != nil {
			in.Name = ci.Name
		}
		if patch.Tags != nil {
			in.Tags = *patch.Tags
		}
		for k, v := range patch.Settings {
			if in.Settings == nil {
				in.Settings = map[string]any{}
			}
			if v == nil {
				delete(in.Settings, k)
			} else {
				in.Settings[k] = v
			}
		}
		return nil
	})
	if err != nil {
		return store.Instance{}, notFound(err, "instance")
	}
	s.audit(ctx, p, "instance.update", "instance", id, map[string]any{"name": in.Name})
	return in, nil
}

// Reauthenticate starts a new install for an existing instance: on success the
// instance keeps its ID and instance token and gets new Slack tokens.
func (s *Service) Reauthenticate(ctx context.Context, p tenant.Principal, id string, team string) (Created, error) {
	in, err := s.get(ctx, p, id)
	if err != nil {
		return Created{}, err
	}
	app, err := s.pickApp(ctx, p.Org.ID, in.AppID)
	if err != nil {
		return Created{}, err
	}
	if in.AppID == "" {
		if in, err = s.store.UpdateInstance(ctx, p.Org.ID, id, func(i *store.Instance) error { i.AppID = app.ID; return nil }); err != nil {
			return Created{}, err
		}
	}
	_, edition, err := catalogEdition(in.Connector, in.Edition)
	if err != nil {
		return Created{}, err
	}
	bot, user := edition.BotScopes, edition.UserScopes
	if len(in.BotScopes)+len(in.UserScopes) > 0 {
		bot, user = in.BotScopes, in.UserScopes // ask again for what was granted
	}
	if team == "" {
		team = in.TeamID
		if in.OrgWide {
			team = in.EnterpriseID
		}
	}
	url, expires, err := s.authorize(ctx, in, app, bot, user, team)
	if err != nil {
		return Created{}, err
	}
	s.audit(ctx, p, "instance.reauthenticate", "instance", id, nil)
	return Created{Instance: in, AuthorizeURL: url, ExpiresAt: expires}, nil
}

// Token reveals the instance token ("View Token"). Admins only; audit-logged.
func (s *Service) Token(ctx context.Context, p tenant.Principal, id string) (secrets.Secret, error) {
	if !p.IsAdmin() {
		return "", errAdminsOnly
	}
	in, err := s.get(ctx, p, id)
	if err != nil {
		return "", err
	}
	s.audit(ctx, p, "instance.token.view", "instance", id, nil)
	return in.InstanceToken, nil
}

// RotateToken gives the instance a new instance token; the old one stops
// working at once.
func (s *Service) RotateToken(ctx context.Context, p tenant.Principal, id string) (secrets.Secret, error) {
	if !p.IsAdmin() {
		return "", errAdminsOnly
	}
	token, err := secrets.NewToken(tenant.InstanceTokenPrefix)
	if err != nil {
		return "", err
	}
	if _, err := s.get(ctx, p, id); err != nil {
		return "", err
	}
	_, err = s.store.UpdateInstance(ctx, p.Org.ID, id, func(in *store.Instance) error {
		in.InstanceTokenHash, in.InstanceToken, in.InstanceTokenHint = secrets.HashToken(token), secrets.Secret(token), tenant.Hint(token)
		return nil
	})
	if err != nil {
		return "", notFound(err, "instance")
	}
	s.audit(ctx, p, "instance.token.rotate", "instance", id, nil)
	return secrets.Secret(token), nil
}

// PingResult is what auth.test says of an instance's token.
type PingResult struct {
	OK           bool
	Team         string
	TeamID       string
	EnterpriseID string
	User         string
	UserID       string
	BotID        string
	URL          string
	TokenKind    string
	Scopes       []string
	ExpiresAt    time.Time
	// Missing are the scopes the instance's edition needs for connhub's
	// features that were not granted.
	MissingBotScopes  []string
	MissingUserScopes []string
	Latency           time.Duration
}

// Ping checks the instance's token with auth.test, refreshing it first when it
// is about to expire, and once more if Slack says it expired.
func (s *Service) Ping(ctx context.Context, p tenant.Principal, id string) (PingResult, error) {
	in, err := s.get(ctx, p, id)
	if err != nil {
		return PingResult{}, err
	}
	if in.Status == store.StatusPending {
		return PingResult{}, apierror.New(http.StatusConflict, "not_authenticated", "the instance is waiting for consent at Slack: open its authorize URL, or re-authenticate")
	}
	kind := "bot"
	if in.BotToken.IsZero() {
		kind = "user"
	}
	start := time.Now()
	var ident slack.Identity
	err = s.withToken(ctx, in, kind, func(tok secrets.Secret) error {
		var err error
		ident, err = s.slack.AuthTest(ctx, tok)
		return err
	})
	latency := time.Since(start)
	ok := err == nil
	if _, uerr := s.store.UpdateInstance(ctx, in.OrgID, in.ID, func(i *store.Instance) error {
		i.LastPingAt, i.LastPingOK = s.now(), ok
		return nil
	}); uerr != nil {
		s.log.Warn("instance: record ping", "instance", in.ID, "err", uerr)
	}
	var problem *apierror.Problem
	switch {
	case errors.As(err, &problem):
		return PingResult{}, err // the refresh said what went wrong
	case err != nil:
		s.markDead(ctx, in, err)
		return PingResult{}, slackProblem(err, "ping (auth.test)")
	}
	res := PingResult{OK: true, Team: ident.Team, TeamID: ident.TeamID, EnterpriseID: ident.EnterpriseID, User: ident.User, UserID: ident.UserID,
		BotID: ident.BotID, URL: ident.URL, TokenKind: ident.Kind, Scopes: ident.Scopes, ExpiresAt: ident.ExpiresAt, Latency: latency}
	if c, ok := connector.Get(in.Connector); ok {
		if e, ok := c.Edition(in.Edition); ok {
			res.MissingBotScopes, res.MissingUserScopes = e.MissingScopes(in.BotScopes, in.UserScopes)
		}
	}
	return res, nil
}

// markDead records that Slack no longer takes the instance's tokens.
func (s *Service) markDead(ctx context.Context, in store.Instance, err error) {
	var ae *slack.APIError
	if !errors.As(err, &ae) || !slack.IsTokenDead(err) {
		return
	}
	status := store.StatusNeedsReauth
	if ae.Code == "token_revoked" || ae.Code == "account_inactive" {
		status = store.StatusRevoked
	}
	if _, uerr := s.store.UpdateInstance(ctx, in.OrgID, in.ID, func(i *store.Instance) error {
		i.Status, i.StatusReason = status, ae.Code+": Slack no longer accepts the instance's token; re-authenticate it"
		return nil
	}); uerr != nil {
		s.log.Warn("instance: mark dead", "instance", in.ID, "err", uerr)
	}
}

// Delete revokes the instance's tokens at Slack, then deletes the instance and
// everything that hangs off it. A token Slack already refuses counts as
// revoked. If Slack cannot be reached the instance stays, unless force is set.
func (s *Service) Delete(ctx context.Context, p tenant.Principal, id string, force bool) error {
	if !p.IsAdmin() {
		return errAdminsOnly
	}
	in, err := s.get(ctx, p, id)
	if err != nil {
		return err
	}
	var revoked []string
	for _, t := range []struct {
		kind string
		tok  secrets.Secret
	}{{"bot", in.BotToken}, {"user", in.UserToken}} {
		if t.tok.IsZero() {
			continue
		}
		err := s.slack.Revoke(ctx, t.tok)
		var ae *slack.APIError
		switch {
		case err == nil, errors.As(err, &ae) && (slack.IsTokenDead(err) || ae.Code == "token_expired"):
			revoked = append(revoked, t.kind)
		case !force:
			return apierror.New(http.StatusBadGateway, "revoke_failed",
				fmt.Sprintf("the %s token could not be revoked at Slack (%v); the instance is kept: retry, or delete with force=true", t.kind, strings.TrimPrefix(err.Error(), "slack: ")))
		}
	}
	if err := s.store.DeleteInstance(ctx, p.Org.ID, id); err != nil {
		return notFound(err, "instance")
	}
	s.audit(ctx, p, "instance.delete", "instance", id, map[string]any{"revoked": revoked, "forced": force})
	return nil
}

// Credentials are the ready forms an integration tool authenticates with.
type Credentials struct {
	// OpenConnectors is the whole Authorization header value
	// "User …, Organization …, Element …".
	OpenConnectors secrets.Secret
	// Bearer is "Bearer <instance token>".
	Bearer secrets.Secret
}

// Credentials assembles an instance's credentials for the calling user.
// Admins only; audit-logged.
func (s *Service) Credentials(ctx context.Context, p tenant.Principal, id string) (Credentials, error) {
	if !p.IsAdmin() {
		return Credentials{}, errAdminsOnly
	}
	in, err := s.get(ctx, p, id)
	if err != nil {
		return Credentials{}, err
	}
	c := Credentials{Bearer: secrets.Secret("Bearer " + in.InstanceToken.Reveal())}
	if !p.User.Secret.IsZero() && !p.Org.Secret.IsZero() {
		c.OpenConnectors = secrets.Secret("User " + p.User.Secret.Reveal() + ", Organization " + p.Org.Secret.Reveal() + ", Element " + in.InstanceToken.Reveal())
	}
	s.audit(ctx, p, "instance.credentials.export", "instance", id, nil)
	return c, nil
}

// Named credential kinds.
const (
	CredentialOpenConnectors = "open_connectors"
	CredentialBearer         = "bearer"
)

// CreateCredential stores an instance's credentials under a name that
// integration flows fetch them by.
func (s *Service) CreateCredential(ctx context.Context, p tenant.Principal, name, instanceID, kind, description string) (store.Credential, error) {
	if kind == "" {
		kind = CredentialOpenConnectors
	}
	if name = strings.TrimSpace(name); name == "" || len(name) > 100 || (kind != CredentialOpenConnectors && kind != CredentialBearer) {
		return store.Credential{}, apierror.New(http.StatusBadRequest, "invalid_credential", "name (1 to 100 characters) is required and kind is open_connectors or bearer")
	}
	creds, err := s.Credentials(ctx, p, instanceID)
	if err != nil {
		return store.Credential{}, err
	}
	value := creds.OpenConnectors
	if kind == CredentialBearer {
		value = creds.Bearer
	}
	if value.IsZero() {
		return store.Credential{}, apierror.New(http.StatusConflict, "no_open_connectors_secrets", "your user has no Open Connectors secrets; use kind bearer")
	}
	c, err := s.store.CreateCredential(ctx, store.Credential{OrgID: p.Org.ID, Name: name, Kind: kind, InstanceID: instanceID, Description: description, Value: value})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.Credential{}, apierror.New(http.StatusConflict, "credential_exists", "a credential named "+name+" exists")
	}
	if err != nil {
		return store.Credential{}, err
	}
	s.audit(ctx, p, "credential.create", "credential", c.ID, map[string]any{"name": name, "instance": instanceID, "kind": kind})
	return c, nil
}

// ListCredentials lists the organization's named credentials (values included
// only through GetCredential).
func (s *Service) ListCredentials(ctx context.Context, p tenant.Principal, page store.Page) ([]store.Credential, string, error) {
	return s.store.ListCredentials(ctx, p.Org.ID, page)
}

// GetCredential returns a named credential by ID or name, value included.
// Audit-logged.
func (s *Service) GetCredential(ctx context.Context, p tenant.Principal, idOrName string) (store.Credential, error) {
	c, err := s.store.GetCredential(ctx, p.Org.ID, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		c, err = s.credentialByName(ctx, p.Org.ID, idOrName)
	}
	if err != nil {
		return store.Credential{}, notFound(err, "credential")
	}
	s.audit(ctx, p, "credential.fetch", "credential", c.ID, map[string]any{"name": c.Name})
	return c, nil
}

func (s *Service) credentialByName(ctx context.Context, orgID, name string) (store.Credential, error) {
	after := ""
	for {
		cs, next, err := s.store.ListCredentials(ctx, orgID, store.Page{After: after, Limit: store.MaxPage})
		if err != nil {
			return store.Credential{}, err
		}
		for _, c := range cs {
			if c.Name == name {
				return c, nil
			}
		}
		if next == "" {
			return store.Credential{}, store.ErrNotFound
		}
		after = next
	}
}

// DeleteCredential deletes a named credential.
func (s *Service) DeleteCredential(ctx context.Context, p tenant.Principal, id string) error {
	if !p.IsAdmin() {
		return errAdminsOnly
	}
	if err := s.store.DeleteCredential(ctx, p.Org.ID, id); err != nil {
		return notFound(err, "credential")
	}
	s.audit(ctx, p, "credential.delete", "credential", id, nil)
	return nil
}
