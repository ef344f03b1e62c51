package instance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/slackspec"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

func slackScope(scope string, bot bool) bool {
	if bot {
		return slackspec.IsBotScope(scope)
	}
	return slackspec.IsUserScope(scope)
}

// CreateInput asks for a new instance installed through Slack's consent page.
type CreateInput struct {
	Connector  string // "slack"
	Name       string
	Edition    string   // the workspace's plan; decides the scopes asked for
	BotScopes  []string // instead of the edition's
	UserScopes []string
	Team       string // a workspace (T…) or org (E…) to preselect at Slack
	AppID      string // the app to install; default: the organization's app
	Tags       []string
	Settings   map[string]any
}

// Created is a new instance with what the caller needs to finish it.
type Created struct {
	Instance store.Instance
	// InstanceToken authenticates requests for the instance; it is shown
	// here, and later only through the token endpoint.
	InstanceToken secrets.Secret
	// AuthorizeURL is where a person consents at Slack; empty for instances
	// made from a token.
	AuthorizeURL string
	ExpiresAt    time.Time // of the authorize URL
}

func (in *CreateInput) validate() error {
	var problems []string
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		problems = append(problems, "name is required (at most 200 characters)")
	}
	for _, tag := range in.Tags {
		if tag == "" || len(tag) > 64 {
			problems = append(problems, fmt.Sprintf("tag %q must be 1 to 64 characters", tag))
		}
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
		return apierror.New(http.StatusBadRequest, "invalid_instance", strings.Join(problems, "; "))
	}
	return nil
}

// Create makes a pending instance and the authorize URL that installs it.
func (s *Service) Create(ctx context.Context, p tenant.Principal, in CreateInput) (Created, error) {
	if err := authz.Allow(p, authz.CreateInstance, ""); err != nil {
		return Created{}, err
	}
	if in.Connector == "" {
		in.Connector = "slack"
	}
	if err := in.validate(); err != nil {
		return Created{}, err
	}
	_, edition, err := catalogEdition(in.Connector, in.Edition)
	if err != nil {
		return Created{}, err
	}
	app, err := s.pickApp(ctx, p.Org.ID, in.AppID)
	if err != nil {
		return Created{}, err
	}
	token, err := secrets.NewToken(tenant.InstanceTokenPrefix)
	if err != nil {
		return Created{}, err
	}
	inst := store.Instance{ID: store.NewID("ins"),
		OrgID: p.Org.ID, Connector: in.Connector, AppID: app.ID, Name: in.Name, Tags: in.Tags, Settings: in.Settings,
		Status: store.StatusPending, StatusReason: "waiting for consent at Slack", Edition: edition.Key, AuthMethod: store.AuthOAuth,
		InstanceTokenHash: secrets.HashToken(token), InstanceToken: secrets.Secret(token), InstanceTokenHint: tenant.Hint(token),
	}
	err = s.audited(ctx, p, audit.Event{Action: "instance.create", TargetType: "instance", TargetID: inst.ID,
		Details: map[string]any{"name": inst.Name, "edition": inst.Edition, "method": store.AuthOAuth}},
		func(q store.Queries) (err error) { inst, err = q.CreateInstance(ctx, inst); return err })
	if err != nil {
		return Created{}, err
	}
	bot, user := in.BotScopes, in.UserScopes
	if len(bot) == 0 && len(user) == 0 {
		bot, user = edition.BotScopes, edition.UserScopes
	}
	url, expires, err := s.authorize(ctx, inst, app, bot, user, in.Team)
	if err != nil {
		return Created{}, err
	}
	return Created{Instance: inst, InstanceToken: secrets.Secret(token), AuthorizeURL: url, ExpiresAt: expires}, nil
}

// authorize stores a fresh OAuth state for the instance and builds the
// authorize URL that carries it.
func (s *Service) authorize(ctx context.Context, inst store.Instance, app store.App, bot, user []string, team string) (string, time.Time, error) {
	verifier, challenge, err := slack.NewPKCE()
	if err != nil {
		return "", time.Time{}, err
	}
	expires := s.now().Add(StateTTL).UTC().Truncate(time.Millisecond)
	st, err := s.store.CreateOAuthState(ctx, store.OAuthState{OrgID: inst.OrgID, InstanceID: inst.ID, CodeVerifier: secrets.Secret(verifier),
		RedirectURL: s.callbackURL, ExpiresAt: expires})
	if err != nil {
		return "", time.Time{}, err
	}
	url := s.slack.AuthorizeURL(slack.AuthorizeParams{ClientID: app.ClientID, BotScopes: bot, UserScopes: user,
		RedirectURI: s.callbackURL, State: s.signState(st), Team: team, CodeChallenge: challenge})
	return url, expires, nil
}

// signState renders the state parameter: the state's ID and an HMAC of it.
// The ID is 256 random bits the store made; the HMAC lets the callback
// refuse a forged parameter before it asks the store anything.
func (s *Service) signState(st store.OAuthState) string {
	return st.ID + "." + base64.RawURLEncoding.EncodeToString(s.stateMAC(st.ID))
}

// stateMAC is the HMAC of a state ID under the hub-wide state key. It covers
// the ID alone, so that it can be checked from the parameter alone; the
// state's organization, instance and expiry are in its row, which only a
// checked ID reaches.
func (s *Service) stateMAC(id string) []byte {
	m := hmac.New(sha256.New, s.stateKey)
	m.Write([]byte("connhub oauth state\n" + id))
	return m.Sum(nil)
}

// checkState returns the state ID the parameter carries if its HMAC is
// right (compared in constant time), or false.
func (s *Service) checkState(param string) (string, bool) {
	id, sig, ok := strings.Cut(param, ".")
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || id == "" || err != nil {
		return "", false
	}
	return id, hmac.Equal(mac, s.stateMAC(id))
}

// CallbackInput is what Slack's redirect carries.
type CallbackInput struct {
	State string
	Code  string
	Error string // "access_denied" when the person clicked Cancel
}

// CallbackResult says how an install ended. A failed install is not an
// error of the callback: the browser gets a page saying what happened.
type CallbackResult struct {
	Instance store.Instance // zero when the state named none, or the answer must not name it
	OK       bool
	Code     string // on failure: a stable code (access_denied, invalid_state, state_expired, or Slack's)
	Message  string
}

func failed(code, msg string) CallbackResult { return CallbackResult{Code: code, Message: msg} }

// The answers to a state that cannot finish an install. A forged state is
// answered exactly as one connhub never issued; a used state exactly as an
// expired one, so that the answer tells a caller nothing about installs it
// cannot finish.
var (
	stateInvalid = failed("invalid_state", "the state parameter is not one connhub issued; start the install again")
	stateSpent   = failed("state_expired", "this authorize link was used or expired; start again")
)

// Callback finishes an install: it checks the state, exchanges the code,
// stores the tokens and activates the instance. The state's HMAC is checked
// before the store is asked anything, so a forged state consumes nothing.
// Failures that can be pinned on a pending instance mark it failed with the
// reason; a used state never touches the instance it names, which may be
// active by now.
func (s *Service) Callback(ctx context.Context, in CallbackInput) (CallbackResult, error) {
	id, ok := s.checkState(in.State)
	if !ok {
		return stateInvalid, nil
	}
	st, err := s.store.ConsumeOAuthState(ctx, id, s.now())
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		// Signed by connhub, so issued: used before, or swept after
		// expiring (or its instance deleted).
		return stateSpent, nil
	case err != nil:
		return CallbackResult{}, err
	}
	inst, err := s.store.GetInstance(ctx, st.OrgID, st.InstanceID)
	if err != nil {
		return CallbackResult{}, notFound(err, "instance")
	}
	fail := func(code, msg string) (CallbackResult, error) {
		// A failed first install fails the instance; a failed
		// re-authentication leaves it as it was. Either way the instance
		// says why, for whoever is waiting on it.
		inst, err = s.store.UpdateInstance(ctx, inst.OrgID, inst.ID, func(i *store.Instance) error {
			i.LastAuthError = code + ": " + msg
			if i.Status == store.StatusPending || i.Status == store.StatusFailed || i.Status == store.StatusExpired {
				i.Status, i.StatusReason = store.StatusFailed, code+": "+msg
			}
			return nil
		})
		if err != nil {
			return CallbackResult{}, err
		}
		res := CallbackResult{Instance: inst, Code: code, Message: msg}
		s.auditSystem(ctx, inst, "instance.install_failed", map[string]any{"code": code})
		return res, nil
	}
	switch {
	case !s.now().Before(st.ExpiresAt):
		if _, err := fail("state_expired", "the authorization took longer than "+StateTTL.String()+"; start the install again"); err != nil {
			return CallbackResult{}, err
		}
		return stateSpent, nil
	case in.Error == "access_denied":
		return fail("access_denied", "consent was refused at Slack (Cancel); start the install again to allow it")
	case in.Error != "":
		return fail(in.Error, "Slack answered the install with an error")
	case in.Code == "":
		return fail("missing_code", "Slack's redirect carried no code")
	}
	app, err := s.store.GetApp(ctx, inst.OrgID, inst.AppID)
	if err != nil {
		return fail("no_app", "the app this instance installs with was deleted")
	}
	got, err := s.slack.ExchangeCode(ctx, slack.ExchangeParams{ClientID: app.ClientID, ClientSecret: app.ClientSecret, Code: in.Code,
		RedirectURI: st.RedirectURL, CodeVerifier: st.CodeVerifier})
	if err != nil {
		var ae *slack.APIError
		if errors.As(err, &ae) {
			return fail(ae.Code, "Slack refused the code (oauth.v2.access)")
		}
		return fail("slack_unreachable", "Slack could not be reached to exchange the code: "+err.Error())
	}
	var teams []string
	teamsKnown := false
	if got.OrgWide {
		if teams, err = s.orgTeams(ctx, got); err != nil {
			s.log.Warn("instance: auth.teams.list after an org-wide install", "instance", inst.ID, "err", err)
		} else {
			teamsKnown = true
		}
	}
	if teamsKnown {
		// A re-authentication may grant other workspaces than before.
		var g store.GrantedTeams
		g, err = store.SetGrantedTeams(ctx, s.store, inst.OrgID, inst.ID, teams, s.now(), func(i *store.Instance) { applyInstall(i, got) })
		inst = g.Instance
	} else {
		inst, err = s.store.UpdateInstance(ctx, inst.OrgID, inst.ID, func(i *store.Instance) error {
			applyInstall(i, got)
			if !got.OrgWide {
				i.Teams = nil
			}
			return nil
		})
	}
	if err != nil {
		return CallbackResult{}, err
	}
	s.auditSystem(ctx, inst, "instance.activate", map[string]any{"team_id": inst.TeamID, "enterprise_id": inst.EnterpriseID, "org_wide": inst.OrgWide})
	if got.AppID != "" && app.SlackAppID != got.AppID {
		// Which Slack app this is: its events name it (api_app_id).
		if _, err := s.store.UpdateApp(ctx, app.OrgID, app.ID, func(a *store.App) error { a.SlackAppID = got.AppID; return nil }); err != nil {
			s.log.Warn("instance: record the app's Slack app ID", "app", app.ID, "err", err)
		}
	}
	return CallbackResult{Instance: inst, OK: true}, nil
}

func (s *Service) auditSystem(ctx context.Context, inst store.Instance, action string, details map[string]any) {
	s.audit(ctx, audit.System(inst.OrgID), action, "instance", inst.ID, details)
}

// applyInstall writes an install's tokens and identity into an instance.
func applyInstall(i *store.Instance, got slack.Install) {
	i.Status, i.StatusReason, i.LastAuthError = store.StatusActive, "", ""
	i.TeamID, i.TeamName, i.EnterpriseID, i.OrgWide = got.TeamID, got.TeamName, got.EnterpriseID, got.OrgWide
	if got.OrgWide && i.TeamName == "" {
		i.TeamName = got.EnterpriseName
	}
	i.BotUserID, i.AuthedUserID = got.BotUserID, got.AuthedUserID
	i.BotToken, i.BotRefreshToken, i.BotTokenExpiresAt, i.BotScopes = got.Bot.Access, got.Bot.Refresh, got.Bot.ExpiresAt, got.Bot.Scopes
	i.UserToken, i.UserRefreshToken, i.UserTokenExpiresAt, i.UserScopes = got.User.Access, got.User.Refresh, got.User.ExpiresAt, got.User.Scopes
	i.RefreshLeaseOwner, i.RefreshLeaseUntil = "", time.Time{}
	if got.Bot.Access.IsZero() && !got.User.Access.IsZero() {
		// The user token is the only one: the proxy must be able to use it.
		i.AllowUserToken = true
	}
}

// orgTeams lists the workspaces an org-wide install is granted.
func (s *Service) orgTeams(ctx context.Context, got slack.Install) ([]string, error) {
	tok := got.Bot.Access
	if tok.IsZero() {
		tok = got.User.Access
	}
	return s.teamIDs(ctx, tok)
}

// teamIDs lists, with tok, the workspaces an org-wide install is granted
// (auth.teams.list), sorted.
func (s *Service) teamIDs(ctx context.Context, tok secrets.Secret) ([]string, error) {
	teams, err := s.slack.Teams(ctx, tok)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	slices.Sort(ids)
	return ids, nil
}

// TokenInput makes an instance from a token someone already has (Certero's
// way): checked with auth.test before anything is stored.
type TokenInput struct {
	Name     string
	Token    secrets.Secret // a bot (xoxb) or user (xoxp) token
	Refresh  secrets.Secret // its refresh token, if it rotates
	Edition  string
	AppID    string // the app that issued it, needed to refresh a rotating token
	Tags     []string
	Settings map[string]any
}

// CreateFromToken makes an active instance from an existing token.
func (s *Service) CreateFromToken(ctx context.Context, p tenant.Principal, in TokenInput) (Created, error) {
	if err := authz.Allow(p, authz.CreateInstance, ""); err != nil {
		return Created{}, err
	}
	ci := CreateInput{Connector: "slack", Name: in.Name, Edition: in.Edition, Tags: in.Tags, Settings: in.Settings}
	if err := ci.validate(); err != nil {
		return Created{}, err
	}
	if _, _, err := catalogEdition("slack", in.Edition); err != nil {
		return Created{}, err
	}
	if in.Token.IsZero() {
		return Created{}, apierror.New(http.StatusBadRequest, "invalid_instance", "token is required")
	}
	appID := in.AppID
	if !in.Refresh.IsZero() {
		// A rotating token must be refreshed with its app's credentials:
		// find the app, and prove it is the token's by refreshing now.
		app, tok, err := s.refreshPasted(ctx, p, in)
		if err != nil {
			return Created{}, err
		}
		appID, in.Token, in.Refresh = app.ID, tok.Access, tok.Refresh
	} else if in.AppID != "" {
		if _, err := s.GetApp(ctx, p, in.AppID); err != nil {
			return Created{}, err
		}
	}
	id, err := s.slack.AuthTest(ctx, in.Token)
	if err != nil {
		return Created{}, slackProblem(err, "the token was not accepted by Slack (auth.test)")
	}
	tok := slack.Token{Access: in.Token, Refresh: in.Refresh, ExpiresAt: id.ExpiresAt, Scopes: id.Scopes, Kind: id.Kind}
	got := slack.Install{TeamID: id.TeamID, TeamName: id.Team, EnterpriseID: id.EnterpriseID, OrgWide: id.OrgWide, AppID: id.AppID}
	if id.Kind == "bot" {
		got.Bot, got.BotUserID = tok, id.UserID
	} else {
		got.User, got.AuthedUserID = tok, id.UserID
	}
	return s.createActive(ctx, p, ci, appID, store.AuthToken, got)
}

// refreshPasted proves a pasted rotating token's app by refreshing it with
// the app's credentials: the app named, or the organization's only one.
func (s *Service) refreshPasted(ctx context.Context, p tenant.Principal, in TokenInput) (store.App, slack.Token, error) {
	var app store.App
	var err error
	if in.AppID != "" {
		app, err = s.GetApp(ctx, p, in.AppID)
	} else {
		apps, _, lerr := s.store.ListApps(ctx, p.Org.ID, store.Page{Limit: 2})
		switch {
		case lerr != nil:
			err = lerr
		case len(apps) == 1:
			app = apps[0]
		default:
			err = apierror.New(http.StatusBadRequest, "app_required",
				"a token with a refresh token is refreshed with its app's client ID and secret: name the app that issued it (app_id; connhub apps list), after registering it (connhub apps create) if it is not")
		}
	}
	if err != nil {
		return store.App{}, slack.Token{}, err
	}
	tok, err := s.slack.Refresh(ctx, app.ClientID, app.ClientSecret, in.Refresh)
	if err != nil {
		return store.App{}, slack.Token{}, slackProblem(err, "the refresh token could not be refreshed with app "+app.ID+"'s credentials (oauth.v2.access); is it that app's? Name the right one with app_id")
	}
	return app, tok, nil
}

// ImportInput makes an instance from an app's credentials and a refresh token
// (Snow Atlas's way): checked by refreshing.
type ImportInput struct {
	Name         string
	ClientID     string
	ClientSecret secrets.Secret
	RefreshToken secrets.Secret
	Edition      string
	Tags         []string
	Settings     map[string]any
}

// ImportRefreshToken refreshes the token once at Slack, with the client ID
// and secret given, and makes an active instance with the new tokens. Nothing
// is stored before Slack has taken the secret and the token, and an import
// never changes a registered app: with the app's own secret it installs
// under the app; with another one that Slack takes it answers 409
// app_secret_differs (rotating an app's secret is an explicit act); without
// an app of that client ID it registers one, after the refresh.
func (s *Service) ImportRefreshToken(ctx context.Context, p tenant.Principal, in ImportInput) (Created, error) {
	ci := CreateInput{Connector: "slack", Name: in.Name, Edition: in.Edition, Tags: in.Tags, Settings: in.Settings}
	if err := ci.validate(); err != nil {
		return Created{}, err
	}
	if _, _, err := catalogEdition("slack", in.Edition); err != nil {
		return Created{}, err
	}
	if in.RefreshToken.IsZero() {
		return Created{}, apierror.New(http.StatusBadRequest, "invalid_instance", "refresh_token is required")
	}
	if err := authz.Allow(p, authz.CreateInstance, ""); err != nil {
		return Created{}, err
	}
	if err := authz.Allow(p, authz.WriteApps, ""); err != nil {
		return Created{}, err
	}
	if err := (AppInput{ClientID: in.ClientID, ClientSecret: in.ClientSecret}).validate(); err != nil {
		return Created{}, err
	}
	app, err := s.store.AppByClientID(ctx, p.Org.ID, in.ClientID)
	registered := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Created{}, err
	}
	// Slack first: a secret or token it refuses leaves everything as it was.
	tok, err := s.slack.Refresh(ctx, in.ClientID, in.ClientSecret, in.RefreshToken)
	if err != nil {
		return Created{}, slackProblem(err, "Slack did not refresh the token (oauth.v2.access)")
	}
	if registered && !sameSecret(app.ClientSecret, in.ClientSecret) {
		return Created{}, appSecretDiffers(app)
	}
	id, err := s.slack.AuthTest(ctx, tok.Access)
	if err != nil {
		return Created{}, slackProblem(err, "Slack did not accept the refreshed token (auth.test)")
	}
	if !registered {
		if app, err = s.registerImportedApp(ctx, p, in); err != nil {
			return Created{}, err
		}
	}
	got := slack.Install{TeamID: id.TeamID, TeamName: id.Team, EnterpriseID: id.EnterpriseID, OrgWide: id.OrgWide, AppID: id.AppID}
	if tok.Kind == "bot" || (tok.Kind == "" && id.Kind == "bot") {
		got.Bot, got.BotUserID = tok, id.UserID
	} else {
		got.User, got.AuthedUserID = tok, id.UserID
	}
	return s.createActive(ctx, p, ci, app.ID, store.AuthRefreshToken, got)
}

func sameSecret(a, b secrets.Secret) bool {
	return subtle.ConstantTimeCompare([]byte(a.Reveal()), []byte(b.Reveal())) == 1
}

// appSecretDiffers answers an import whose client secret Slack took but the
// registered app does not hold.
func appSecretDiffers(app store.App) error {
	return apierror.New(http.StatusConflict, "app_secret_differs", fmt.Sprintf(
		"the client secret differs from the one app %s (client ID %s) is registered with, and Slack accepted it: "+
			"rotate the app's client secret explicitly (PATCH /v1/apps/%s), then import again with a fresh refresh token "+
			"(Slack rotated the one given, and connhub did not keep the new one)", app.ID, app.ClientID, app.ID))
}

// registerImportedApp registers the app of an import that Slack accepted, or,
// should another request have registered it meanwhile, takes that one if it
// holds the same secret.
func (s *Service) registerImportedApp(ctx context.Context, p tenant.Principal, in ImportInput) (store.App, error) {
	a := store.App{ID: store.NewID("app"), OrgID: p.Org.ID, Name: "Slack app " + in.ClientID, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
		RedirectURL: s.callbackURL}
	err := s.audited(ctx, p, audit.Event{Action: "app.create", TargetType: "app", TargetID: a.ID, Details: map[string]any{"client_id": a.ClientID, "by": "import"}},
		func(q store.Queries) (err error) { a, err = q.CreateApp(ctx, a); return err })
	if errors.Is(err, store.ErrAlreadyExists) {
		if a, err = s.store.AppByClientID(ctx, p.Org.ID, in.ClientID); err != nil {
			return store.App{}, err
		}
		if !sameSecret(a.ClientSecret, in.ClientSecret) {
			return store.App{}, appSecretDiffers(a)
		}
		return a, nil
	}
	if err != nil {
		return store.App{}, err
	}
	return a, nil
}

func (s *Service) createActive(ctx context.Context, p tenant.Principal, ci CreateInput, appID, method string, got slack.Install) (Created, error) {
	_, edition, _ := catalogEdition("slack", ci.Edition)
	token, err := secrets.NewToken(tenant.InstanceTokenPrefix)
	if err != nil {
		return Created{}, err
	}
	inst := store.Instance{OrgID: p.Org.ID, Connector: "slack", AppID: appID, Name: ci.Name, Tags: ci.Tags, Settings: ci.Settings,
		Edition: edition.Key, AuthMethod: method,
		InstanceTokenHash: secrets.HashToken(token), InstanceToken: secrets.Secret(token), InstanceTokenHint: tenant.Hint(token)}
	applyInstall(&inst, got)
	if got.OrgWide {
		if inst.Teams, err = s.orgTeams(ctx, got); err != nil {
			s.log.Warn("instance: auth.teams.list for an org-wide token", "err", err)
		} else {
			inst.SetWorkspaceStatus()
		}
	}
	inst.ID = store.NewID("ins")
	err = s.audited(ctx, p, audit.Event{Action: "instance.create", TargetType: "instance", TargetID: inst.ID,
		Details: map[string]any{"name": inst.Name, "edition": inst.Edition, "method": method}},
		func(q store.Queries) (err error) { inst, err = q.CreateInstance(ctx, inst); return err })
	if err != nil {
		return Created{}, err
	}
	return Created{Instance: inst, InstanceToken: secrets.Secret(token)}, nil
}

// slackProblem turns a Slack failure into the API's answer: Slack's error code
// behind a 502 (Slack, not the caller's request, said no), or 400 where the
// caller's input was what Slack refused.
func slackProblem(err error, what string) error {
	var ae *slack.APIError
	if errors.As(err, &ae) {
		status := http.StatusBadGateway
		if slack.CallerInput(ae.Code) {
			status = http.StatusBadRequest
		}
		if ae.HTTPStatus == http.StatusTooManyRequests {
			status = http.StatusTooManyRequests
		}
		return apierror.New(status, "slack_"+ae.Code, what+": Slack answered "+ae.Code)
	}
	return apierror.New(http.StatusBadGateway, "slack_unreachable", what+": Slack could not be reached")
}
