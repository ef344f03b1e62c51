package instance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Options configure a Service.
type Options struct {
	Store store.Store
	Slack *slack.Client
	Log   *slog.Logger
	// CallbackURL is connhub's OAuth redirect URL as Slack must call it:
	// the public base URL + "/v1/oauth/slack/callback".
	CallbackURL string
	// RefreshMargin is how long before expiry a token is refreshed; zero
	// means DefaultRefreshMargin.
	RefreshMargin time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service runs instances' lifecycles.
type Service struct {
	store       store.Store
	slack       *slack.Client
	log         *slog.Logger
	callbackURL string
	margin      time.Duration
	now         func() time.Time
	stateKey    []byte
	owner       string // this process, as a refresh-lease owner
	flights     singleflight.Group
}

// StateTTL is how long an authorize URL stays usable.
const StateTTL = 10 * time.Minute

// New makes a Service. It reads (or on first use makes) the hub-wide key that
// signs OAuth states.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Store == nil || o.Slack == nil || o.CallbackURL == "" {
		return nil, errors.New("instance: Store, Slack and CallbackURL are required")
	}
	key, err := o.Store.InstallationSecret(ctx, "oauth-state-key", func() (secrets.Secret, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return secrets.Secret(hex.EncodeToString(b)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("instance: the OAuth state key: %w", err)
	}
	s := &Service{store: o.Store, slack: o.Slack, log: o.Log, callbackURL: o.CallbackURL, margin: o.RefreshMargin, now: o.Now, stateKey: []byte(key.Reveal())}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.margin <= 0 {
		s.margin = DefaultRefreshMargin
	}
	s.slack.WithClock(s.now) // token expiries on the service's clock
	host, _ := os.Hostname()
	s.owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), store.NewID("p"))
	return s, nil
}

// Problems the service answers with.
var (
	errNotFound = apierror.New(http.StatusNotFound, "not_found", "no such instance in your organization")
	errNoApp    = apierror.New(http.StatusConflict, "no_app", "register a Slack app first (POST /v1/apps, or CONNHUB_SLACK_CLIENT_ID and CONNHUB_SLACK_CLIENT_SECRET)")
)

// notFound turns the store's ErrNotFound into the API's 404, whatever the entity.
func notFound(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return apierror.New(http.StatusNotFound, "not_found", "no such "+what+" in your organization")
	}
	return err
}

// audit records an event that connhub did by itself or that only reports
// what already happened (an install finishing, a refresh failing): a failure
// to record it is logged, since undoing what happened would not help.
// Whatever a caller asks for is recorded by audited instead, in the same
// transaction as its change.
func (s *Service) audit(ctx context.Context, p tenant.Principal, action, targetType, targetID string, details map[string]any) {
	if err := audit.Write(ctx, s.store, p, audit.Event{Action: action, TargetType: targetType, TargetID: targetID, Details: details}); err != nil {
		s.log.Error("instance: audit", "action", action, "err", err)
	}
}

// audited runs fn and records ev by p in one transaction: both commit, or
// neither does, so that nothing happens (and no secret is revealed) without
// its audit event.
func (s *Service) audited(ctx context.Context, p tenant.Principal, ev audit.Event, fn func(q store.Queries) error) error {
	return s.store.InTx(ctx, func(q store.Queries) error {
		if fn != nil {
			if err := fn(q); err != nil {
				return err
			}
		}
		return audit.Write(ctx, q, p, ev)
	})
}

// AppInput registers a Slack app.
type AppInput struct {
	Name          string
	ClientID      string
	ClientSecret  secrets.Secret
	SigningSecret secrets.Secret
	BotScopes     []string
	UserScopes    []string
}

func (in AppInput) validate() error {
	var problems []string
	if !validClientID(in.ClientID) {
		problems = append(problems, "client_id must be the app's Client ID as Slack shows it (digits, a dot, digits)")
	}
	if in.ClientSecret.IsZero() {
		problems = append(problems, "client_secret is required")
	}
	for _, sc := range in.BotScopes {
		if !slackScope(sc, true) {
			problems = append(problems, fmt.Sprintf("bot scope %q is not a Slack bot scope", sc))
		}
	}
	for _, sc := range in.UserScopes {
		if !slackScope(sc, false) {
			problems = append(problems, fmt.Sprintf("user scope %q is not a Slack user scope", sc))
		}
	}
	if len(problems) > 0 {
		return apierror.New(http.StatusBadRequest, "invalid_app", strings.Join(problems, "; "))
	}
	return nil
}

func validClientID(id string) bool {
	a, b, ok := strings.Cut(id, ".")
	return ok && digits(a) && digits(b)
}

func digits(s string) bool {
	if s == "" || len(s) > 30 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// CreateApp registers a Slack app in the caller's organization.
func (s *Service) CreateApp(ctx context.Context, p tenant.Principal, in AppInput) (store.App, error) {
	if err := authz.Allow(p, authz.WriteApps, ""); err != nil {
		return store.App{}, err
	}
	if err := in.validate(); err != nil {
		return store.App{}, err
	}
	if in.Name == "" {
		in.Name = "Slack app " + in.ClientID
	}
	a := store.App{ID: store.NewID("app"), OrgID: p.Org.ID, Name: in.Name, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
		SigningSecret: in.SigningSecret, BotScopes: in.BotScopes, UserScopes: in.UserScopes, RedirectURL: s.callbackURL}
	err := s.audited(ctx, p, audit.Event{Action: "app.create", TargetType: "app", TargetID: a.ID, Details: map[string]any{"client_id": a.ClientID}},
		func(q store.Queries) (err error) { a, err = q.CreateApp(ctx, a); return err })
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.App{}, apierror.New(http.StatusConflict, "app_exists", "an app with this client ID is already registered in your organization")
	}
	return a, err
}

// EnsureApp registers the app if its client ID is new, or updates its
// secrets: the way the hub's own configured app (CONNHUB_SLACK_CLIENT_ID…)
// and the sandbox's app are kept registered.
func (s *Service) EnsureApp(ctx context.Context, orgID string, in AppInput) (store.App, error) {
	if err := in.validate(); err != nil {
		return store.App{}, err
	}
	a, err := s.store.AppByClientID(ctx, orgID, in.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return s.store.CreateApp(ctx, store.App{OrgID: orgID, Name: in.Name, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
			SigningSecret: in.SigningSecret, BotScopes: in.BotScopes, UserScopes: in.UserScopes, RedirectURL: s.callbackURL})
	}
	if err != nil {
		return store.App{}, err
	}
	return s.store.UpdateApp(ctx, orgID, a.ID, func(a *store.App) error {
		a.ClientSecret, a.SigningSecret, a.RedirectURL = in.ClientSecret, in.SigningSecret, s.callbackURL
		if in.Name != "" {
			a.Name = in.Name
		}
		return nil
	})
}

// ListApps lists the organization's apps.
func (s *Service) ListApps(ctx context.Context, p tenant.Principal, page store.Page) ([]store.App, string, error) {
	if err := authz.Allow(p, authz.ReadApps, ""); err != nil {
		return nil, "", err
	}
	return s.store.ListApps(ctx, p.Org.ID, page)
}

// GetApp returns one app.
func (s *Service) GetApp(ctx context.Context, p tenant.Principal, id string) (store.App, error) {
	if err := authz.Allow(p, authz.ReadApps, ""); err != nil {
		return store.App{}, err
	}
	a, err := s.store.GetApp(ctx, p.Org.ID, id)
	return a, notFound(err, "app")
}

// DeleteApp deletes an app no instance uses.
func (s *Service) DeleteApp(ctx context.Context, p tenant.Principal, id string) error {
	if err := authz.Allow(p, authz.WriteApps, ""); err != nil {
		return err
	}
	inUse := false
	err := s.audited(ctx, p, audit.Event{Action: "app.delete", TargetType: "app", TargetID: id}, func(q store.Queries) error {
		err := q.DeleteApp(ctx, p.Org.ID, id)
		inUse = err != nil && !errors.Is(err, store.ErrNotFound)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound(err, "app")
	case inUse:
		return apierror.New(http.StatusConflict, "app_in_use", "instances use this app: delete them first")
	}
	return err
}

// pickApp finds the app an instance installs with: the one named, or the
// organization's only (or first) app.
func (s *Service) pickApp(ctx context.Context, orgID, appID string) (store.App, error) {
	if appID != "" {
		a, err := s.store.GetApp(ctx, orgID, appID)
		return a, notFound(err, "app")
	}
	apps, _, err := s.store.ListApps(ctx, orgID, store.Page{Limit: 1})
	if err != nil {
		return store.App{}, err
	}
	if len(apps) == 0 {
		return store.App{}, errNoApp
	}
	return apps[0], nil
}

// catalogEdition resolves a connector's edition, defaulting to the one that
// suits the workspace best when none is named.
func catalogEdition(connectorKey, edition string) (connector.Connector, connector.Edition, error) {
	c, ok := connector.Get(connectorKey)
	if !ok {
		return c, connector.Edition{}, apierror.New(http.StatusBadRequest, "unknown_connector", fmt.Sprintf("no connector %q; GET /v1/connectors lists them", connectorKey))
	}
	if edition == "" {
		edition = "business_plus"
	}
	e, ok := c.Edition(edition)
	if !ok {
		var keys []string
		for _, e := range c.Editions {
			keys = append(keys, e.Key)
		}
		return c, e, apierror.New(http.StatusBadRequest, "unknown_edition", fmt.Sprintf("no edition %q of %s; choose one of %s", edition, c.Name, strings.Join(keys, ", ")))
	}
	return c, e, nil
}

// Record writes ev, by p, to the audit log, for a use of an instance that
// another part of connhub makes (a proxied Slack write, a call with the
// user token): an error means it is not on record, and the use must not
// happen.
func (s *Service) Record(ctx context.Context, p tenant.Principal, ev audit.Event) error {
	return s.audited(ctx, p, ev, nil)
}
