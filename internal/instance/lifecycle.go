package instance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/connector"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// get loads an instance of the caller's organization for action a, if the
// policy lets the caller do a to it.
func (s *Service) get(ctx context.Context, p tenant.Principal, a authz.Action, id string) (store.Instance, error) {
	return s.getIn(ctx, s.store, p, a, id)
}

// getIn is get through q (inside a transaction).
func (s *Service) getIn(ctx context.Context, q store.Queries, p tenant.Principal, a authz.Action, id string) (store.Instance, error) {
	if err := authz.Allow(p, a, id); err != nil {
		return store.Instance{}, err
	}
	in, err := q.GetInstance(ctx, p.Org.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return in, errNotFound
	}
	return in, err
}

// Get returns an instance.
func (s *Service) Get(ctx context.Context, p tenant.Principal, id string) (store.Instance, error) {
	return s.get(ctx, p, authz.ReadInstance, id)
}

// Authorize loads the instance if the caller may do a to it: for the
// services beside this one (syncs, records, the proxy) that act on an
// instance.
func (s *Service) Authorize(ctx context.Context, p tenant.Principal, a authz.Action, id string) (store.Instance, error) {
	return s.get(ctx, p, a, id)
}

// List lists the organization's instances.
func (s *Service) List(ctx context.Context, p tenant.Principal, f store.InstanceFilter, page store.Page) ([]store.Instance, string, error) {
	if err := authz.Allow(p, authz.ListInstances, ""); err != nil {
		return nil, "", err
	}
	return s.store.ListInstances(ctx, p.Org.ID, f, page)
}

// Patch changes what an instance is called and how it behaves, never its
// tokens: nil fields stay as they are.
type Patch struct {
	Name     *string
	Tags     *[]string
	Settings map[string]any // merged into the settings; a nil value removes a key
	// AllowUserToken lets proxied calls use the installing user's token.
	AllowUserToken *bool
}

// Update applies a Patch without re-authenticating.
func (s *Service) Update(ctx context.Context, p tenant.Principal, id string, patch Patch) (store.Instance, error) {
	if _, err := s.get(ctx, p, authz.UpdateInstance, id); err != nil {
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
	details := map[string]any{}
	if patch.AllowUserToken != nil {
		details["allow_user_token"] = *patch.AllowUserToken
	}
	var in store.Instance
	err := s.audited(ctx, p, audit.Event{Action: "instance.update", TargetType: "instance", TargetID: id, Details: details}, func(q store.Queries) (err error) {
		in, err = q.UpdateInstance(ctx, p.Org.ID, id, func(in *store.Instance) error {
			return patch.apply(in, ci)
		})
		details["name"] = in.Name
		return err
	})
	if err != nil {
		return store.Instance{}, notFound(err, "instance")
	}
	return in, nil
}

// apply changes in as the patch says; ci holds the validated name.
func (patch Patch) apply(in *store.Instance, ci CreateInput) error {
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
	if patch.AllowUserToken != nil {
		in.AllowUserToken = *patch.AllowUserToken
	}
	return nil
}

// Reauthenticate starts a new install for an existing instance: on success the
// instance keeps its ID and instance token and gets new Slack tokens.
func (s *Service) Reauthenticate(ctx context.Context, p tenant.Principal, id string, team string) (Created, error) {
	in, err := s.get(ctx, p, authz.ReauthInstance, id)
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
	if err := s.audited(ctx, p, audit.Event{Action: "instance.reauthenticate", TargetType: "instance", TargetID: id}, nil); err != nil {
		return Created{}, err
	}
	url, expires, err := s.authorize(ctx, in, app, bot, user, team)
	if err != nil {
		return Created{}, err
	}
	return Created{Instance: in, AuthorizeURL: url, ExpiresAt: expires}, nil
}

// Token reveals the instance token ("View Token"), only once its audit
// event is written.
func (s *Service) Token(ctx context.Context, p tenant.Principal, id string) (secrets.Secret, error) {
	var in store.Instance
	err := s.audited(ctx, p, audit.Event{Action: "instance.token.reveal", TargetType: "instance", TargetID: id}, func(q store.Queries) (err error) {
		in, err = s.getIn(ctx, q, p, authz.RevealInstanceToken, id)
		return err
	})
	if err != nil {
		return "", err
	}
	return in.InstanceToken, nil
}

// RotateToken gives the instance a new instance token; the old one stops
// working at once.
func (s *Service) RotateToken(ctx context.Context, p tenant.Principal, id string) (secrets.Secret, error) {
	token, err := secrets.NewToken(tenant.InstanceTokenPrefix)
	if err != nil {
		return "", err
	}
	err = s.audited(ctx, p, audit.Event{Action: "instance.token.rotate", TargetType: "instance", TargetID: id}, func(q store.Queries) error {
		if _, err := s.getIn(ctx, q, p, authz.RotateInstanceToken, id); err != nil {
			return err
		}
		_, err = q.UpdateInstance(ctx, p.Org.ID, id, func(in *store.Instance) error {
			in.InstanceTokenHash, in.InstanceToken, in.InstanceTokenHint = secrets.HashToken(token), secrets.Secret(token), tenant.Hint(token)
			return nil
		})
		return err
	})
	if err != nil {
		return "", notFound(err, "instance")
	}
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
	// SCIM is why the instance cannot provision over SCIM (SCIMReadiness),
	// nil when it can.
	SCIM    *apierror.Problem
	Latency time.Duration
}

// Ping checks the instance's token with auth.test, refreshing it first when it
// is about to expire, and once more if Slack says it expired.
func (s *Service) Ping(ctx context.Context, p tenant.Principal, id string) (PingResult, error) {
	in, err := s.get(ctx, p, authz.PingInstance, id)
	if err != nil {
		return PingResult{}, err
	}
	switch in.Status {
	case store.StatusPending:
		return PingResult{}, apierror.New(http.StatusConflict, "not_authenticated", "the instance is waiting for consent at Slack: open its authorize URL, or re-authenticate")
	case store.StatusExpired:
		return PingResult{}, apierror.New(http.StatusConflict, "not_authenticated", "nobody consented at Slack before the instance's authorize URL expired: re-authenticate for a new one")
	}
	kind := "bot"
	if in.BotToken.IsZero() {
		kind = "user"
	}
	start := time.Now()
	var ident slack.Identity
	var teams []string
	teamsKnown := false
	err = s.withToken(ctx, in, kind, func(tok secrets.Secret) error {
		var err error
		if ident, err = s.slack.AuthTest(ctx, tok); err != nil || !in.OrgWide {
			return err
		}
		// An org-wide install: the workspaces granted may have changed.
		if teams, err = s.teamIDs(ctx, tok); err != nil {
			s.log.Warn("instance: auth.teams.list at a ping", "instance", in.ID, "err", err)
		} else {
			teamsKnown = true
		}
		return nil
	})
	latency := time.Since(start)
	ok := err == nil
	if teamsKnown {
		if g, gerr := store.SetGrantedTeams(ctx, s.store, in.OrgID, in.ID, teams, s.now(), nil); gerr != nil {
			s.log.Warn("instance: record the workspaces granted", "instance", in.ID, "err", gerr)
		} else if len(g.Added) > 0 || len(g.Removed) > 0 {
			s.log.Info("instance: the org install's workspaces changed", "instance", in.ID, "added", g.Added, "removed", g.Removed, "records_marked_deleted", g.Marked)
		}
	}
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
		BotID: ident.BotID, URL: ident.URL, TokenKind: ident.Kind, Scopes: ident.Scopes, ExpiresAt: ident.ExpiresAt, Latency: latency, SCIM: SCIMReadiness(in)}
	if c, ok := connector.Get(in.Connector); ok {
		if e, ok := c.Edition(in.Edition); ok {
			res.MissingBotScopes, res.MissingUserScopes = e.MissingScopes(in.BotScopes, in.UserScopes)
		}
	}
	return res, nil
}

// markDead records that Slack no longer takes the instance's tokens.
// err comes after withToken's one refresh: a token_expired then means the
// grant cannot be renewed (the table's Refresh, after the refresh), as
// invalid_auth does (Reauth); token_revoked and account_inactive mean it is
// gone (Revoke).
func (s *Service) markDead(ctx context.Context, in store.Instance, err error) {
	var ae *slack.APIError
	if errors.As(err, &ae) {
		s.TokenDead(ctx, in, "", ae.Code)
	}
}

var errUnchanged = errors.New("unchanged")

// TokenDead records that Slack answered a call with the instance's token of
// kind with code, one that says the token will never work again (after a
// refresh, for token_expired): the instance is revoked, or needs_reauth, with
// the reason. Every call through the one stack to Slack tells it so
// (slackcall.DeadTokens): a sync or a proxied call finds it as a ping does.
// Other codes change nothing.
func (s *Service) TokenDead(ctx context.Context, in store.Instance, kind, code string) {
	var status string
	switch slack.Classify(code) {
	case slack.Revoke:
		status = store.StatusRevoked
	case slack.Reauth, slack.Refresh:
		status = store.StatusNeedsReauth
	default:
		return
	}
	token := "token"
	if kind != "" {
		token = kind + " token"
	}
	reason := code + ": Slack no longer accepts the instance's " + token + "; re-authenticate it"
	if _, uerr := s.store.UpdateInstance(ctx, in.OrgID, in.ID, func(i *store.Instance) error {
		if i.Status == status && i.StatusReason == reason {
			return errUnchanged // marked already: no write
		}
		i.Status, i.StatusReason = status, reason
		return nil
	}); uerr != nil && !errors.Is(uerr, errUnchanged) {
		s.log.Warn("instance: mark dead", "instance", in.ID, "err", uerr)
	}
}

// SlackRevoked records that Slack said, by an event (app_uninstalled,
// tokens_revoked), that the instance's tokens work no more: the instance is
// revoked with reason, and the change is audited as the system's. An
// instance revoked already is left as it is.
func (s *Service) SlackRevoked(ctx context.Context, in store.Instance, event, eventID, reason string) error {
	ev := audit.Event{Action: "instance.revoked_by_slack", TargetType: "instance", TargetID: in.ID,
		Details: map[string]any{"event": event, "event_id": eventID, "reason": reason}}
	err := s.audited(ctx, audit.System(in.OrgID), ev, func(q store.Queries) error {
		_, err := q.UpdateInstance(ctx, in.OrgID, in.ID, func(i *store.Instance) error {
			if i.Status == store.StatusRevoked {
				return errUnchanged
			}
			i.Status, i.StatusReason = store.StatusRevoked, reason
			return nil
		})
		return err
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// DeleteOptions say how far a delete goes.
type DeleteOptions struct {
	// Force deletes even if Slack cannot be reached to revoke the tokens.
	Force bool
	// RevokeShared revokes at Slack the tokens other instances hold too
	// (Slack gives one bot token per app and workspace, one user token per
	// app and user): those instances lose their access and say why.
	RevokeShared bool
}

// Shared is one of an instance's Slack tokens that other instances hold.
type Shared struct {
	Kind       string   // "bot" or "user"
	SharedWith []string // the other instances' IDs
}

// Deletion is what Delete did at Slack.
type Deletion struct {
	Revoked []string // the kinds of token revoked at Slack
	// Kept are the tokens left valid at Slack because other instances hold
	// them (unless RevokeShared).
	Kept []Shared
	// Affected are the instances that lost their tokens (RevokeShared).
	Affected []string
}

// lostRevokedTokens marks an instance whose tokens (some or all) were
// revoked with the instance deleted: revoked when it has none left,
// needs_reauth when another token of its own still works.
func lostRevokedTokens(i *store.Instance, revoked []secrets.Secret, deleted string) {
	var lost []string
	left := 0
	for _, t := range []struct {
		kind string
		tok  secrets.Secret
	}{{"bot", i.BotToken}, {"user", i.UserToken}} {
		if t.tok.IsZero() {
			continue
		}
		if slices.ContainsFunc(revoked, func(r secrets.Secret) bool { return sameSecret(r, t.tok) }) {
			lost = append(lost, t.kind)
		} else {
			left++
		}
	}
	why := "token_revoked: its " + strings.Join(lost, " and ") + " token, shared with instance " + deleted + ", was revoked when that instance was deleted; re-authenticate"
	i.Status, i.StatusReason = store.StatusRevoked, why
	if left > 0 {
		i.Status = store.StatusNeedsReauth
	}
}

// SharedTokens lists which of the instance's Slack tokens other instances
// of the organization hold, for a delete's confirmation.
func (s *Service) SharedTokens(ctx context.Context, p tenant.Principal, id string) ([]Shared, error) {
	in, err := s.get(ctx, p, authz.DeleteInstance, id)
	if err != nil {
		return nil, err
	}
	return s.sharers(ctx, in)
}

// sharers finds the other instances holding in's tokens.
func (s *Service) sharers(ctx context.Context, in store.Instance) ([]Shared, error) {
	byKind := map[string][]string{}
	after := ""
	for {
		list, next, err := s.store.ListInstances(ctx, in.OrgID, store.InstanceFilter{}, store.Page{After: after, Limit: store.MaxPage})
		if err != nil {
			return nil, err
		}
		for _, other := range list {
			if other.ID == in.ID {
				continue
			}
			for _, t := range []struct {
				kind string
				tok  secrets.Secret
			}{{"bot", in.BotToken}, {"user", in.UserToken}} {
				if !t.tok.IsZero() && (sameSecret(t.tok, other.BotToken) || sameSecret(t.tok, other.UserToken)) {
					byKind[t.kind] = append(byKind[t.kind], other.ID)
				}
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	var out []Shared
	for _, kind := range []string{"bot", "user"} {
		if ids := byKind[kind]; len(ids) > 0 {
			out = append(out, Shared{Kind: kind, SharedWith: ids})
		}
	}
	return out, nil
}

// Delete revokes the instance's tokens at Slack, then deletes the instance and
// everything that hangs off it. A token another instance holds too stays
// valid at Slack unless RevokeShared: then those instances are marked
// revoked, saying why. A token Slack already refuses counts as revoked. If
// Slack cannot be reached the instance stays, unless Force.
func (s *Service) Delete(ctx context.Context, p tenant.Principal, id string, o DeleteOptions) (Deletion, error) {
	in, err := s.get(ctx, p, authz.DeleteInstance, id)
	if err != nil {
		return Deletion{}, err
	}
	shared, err := s.sharers(ctx, in)
	if err != nil {
		return Deletion{}, err
	}
	sharedWith := map[string][]string{}
	for _, sh := range shared {
		sharedWith[sh.Kind] = sh.SharedWith
	}
	var d Deletion
	affected := map[string]bool{}
	var revoked []secrets.Secret
	for _, t := range []struct {
		kind string
		tok  secrets.Secret
	}{{"bot", in.BotToken}, {"user", in.UserToken}} {
		if t.tok.IsZero() {
			continue
		}
		if others := sharedWith[t.kind]; len(others) > 0 && !o.RevokeShared {
			d.Kept = append(d.Kept, Shared{Kind: t.kind, SharedWith: others})
			continue
		}
		err := s.slack.Revoke(ctx, t.tok)
		switch a := slack.ActionOf(err); {
		case err == nil, a == slack.Revoke, a == slack.Reauth, a == slack.Refresh: // the token works no more
			d.Revoked, revoked = append(d.Revoked, t.kind), append(revoked, t.tok)
			for _, other := range sharedWith[t.kind] {
				affected[other] = true
			}
		case !o.Force:
			return Deletion{}, apierror.New(http.StatusBadGateway, "revoke_failed",
				fmt.Sprintf("the %s token could not be revoked at Slack (%v); the instance is kept: retry, or delete with force=true", t.kind, strings.TrimPrefix(err.Error(), "slack: ")))
		}
	}
	for other := range affected {
		d.Affected = append(d.Affected, other)
	}
	slices.Sort(d.Affected)
	details := map[string]any{"revoked": d.Revoked, "forced": o.Force}
	if len(d.Kept) > 0 {
		details["kept_shared"] = d.Kept
	}
	if len(d.Affected) > 0 {
		details["affected"] = d.Affected
	}
	err = s.audited(ctx, p, audit.Event{Action: "instance.delete", TargetType: "instance", TargetID: id, Details: details}, func(q store.Queries) error {
		if err := q.DeleteInstance(ctx, p.Org.ID, id); err != nil {
			return err
		}
		for _, other := range d.Affected {
			if _, err := q.UpdateInstance(ctx, p.Org.ID, other, func(i *store.Instance) error {
				lostRevokedTokens(i, revoked, id)
				return nil
			}); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Deletion{}, notFound(err, "instance")
	}
	return d, nil
}
