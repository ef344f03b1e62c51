package instance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/connector/slack"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// leaseTTL bounds how long a replica may hold the right to refresh an
// instance's tokens: long enough for Slack to answer, short enough that a
// replica that died holding it does not stall the others for long.
const leaseTTL = 30 * time.Second

// DefaultRefreshMargin is how long before expiry a token is refreshed unless
// Options say otherwise. It must stay well under the tokens' lifetime (12 h
// on Slack); tests with short-lived sandbox tokens set a shorter one.
const DefaultRefreshMargin = 5 * time.Minute

func tokenOf(in store.Instance, kind string) (access, refresh secrets.Secret, expires time.Time) {
	if kind == "user" {
		return in.UserToken, in.UserRefreshToken, in.UserTokenExpiresAt
	}
	return in.BotToken, in.BotRefreshToken, in.BotTokenExpiresAt
}

// AccessToken returns a token of kind ("bot" or "user") good for now,
// refreshing it first when it expires within the margin.
func (s *Service) AccessToken(ctx context.Context, orgID, instanceID, kind string) (secrets.Secret, error) {
	in, err := s.store.GetInstance(ctx, orgID, instanceID)
	if err != nil {
		return "", notFound(err, "instance")
	}
	tok, _, err := s.fresh(ctx, in, kind, false)
	return tok, err
}

// fresh returns the instance's token of kind, refreshed first when it expires
// within the margin, or always when force is set (Slack said token_expired).
func (s *Service) fresh(ctx context.Context, in store.Instance, kind string, force bool) (secrets.Secret, store.Instance, error) {
	access, refresh, expires := tokenOf(in, kind)
	if access.IsZero() {
		return "", in, apierror.New(http.StatusConflict, "no_token", "the instance has no "+kind+" token")
	}
	due := force || (!expires.IsZero() && !s.now().Add(s.margin).Before(expires))
	if !due || refresh.IsZero() {
		return access, in, nil
	}
	in, err := s.refresh(ctx, in, kind)
	if err != nil {
		return "", in, err
	}
	access, _, _ = tokenOf(in, kind)
	return access, in, nil
}

// withToken runs call with a fresh token; when Slack answers token_expired it
// refreshes once and calls once more.
func (s *Service) withToken(ctx context.Context, in store.Instance, kind string, call func(secrets.Secret) error) error {
	tok, in, err := s.fresh(ctx, in, kind, false)
	if err != nil {
		return err
	}
	err = call(tok)
	if !slack.IsTokenExpired(err) {
		return err
	}
	if tok, _, err = s.fresh(ctx, in, kind, true); err != nil {
		return err
	}
	return call(tok)
}

var (
	errRefreshedElsewhere = errors.New("the token was refreshed since it was read")
	errLeaseHeld          = errors.New("another replica is refreshing")
)

// refresh renews the instance's token of kind once, however many callers ask
// at the same time in this process (single flight) or on other replicas (the
// lease on the row). It returns the instance with its new tokens.
func (s *Service) refresh(ctx context.Context, in store.Instance, kind string) (store.Instance, error) {
	seen, _, _ := tokenOf(in, kind)
	sum := sha256.Sum256([]byte(seen.Reveal()))
	key := in.OrgID + "/" + in.ID + "/" + kind + "/" + hex.EncodeToString(sum[:8])
	v, err, _ := s.flights.Do(key, func() (any, error) {
		// The flight outlives no caller's need: run it on a context of its
		// own, so that one caller giving up does not fail the others.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseTTL)
		defer cancel()
		return s.refreshOnce(fctx, in.OrgID, in.ID, kind, seen, "", nil)
	})
	if err != nil {
		return in, err
	}
	return v.(store.Instance), nil
}

// refreshOnce refreshes the token of kind unless it is no longer seen (the
// token the caller found due): then another caller or replica refreshed it.
// With a secret and also, it is refreshWith's trial of a new client secret.
func (s *Service) refreshOnce(ctx context.Context, orgID, id, kind string, seen, secret secrets.Secret, also func(q store.Queries) error) (store.Instance, error) {
	for {
		in, err := s.store.UpdateInstance(ctx, orgID, id, func(in *store.Instance) error {
			now := s.now()
			current, _, _ := tokenOf(*in, kind)
			switch {
			case current != seen:
				return errRefreshedElsewhere
			case in.RefreshLeaseOwner != "" && in.RefreshLeaseOwner != s.owner && now.Before(in.RefreshLeaseUntil):
				return errLeaseHeld
			}
			in.RefreshLeaseOwner, in.RefreshLeaseUntil = s.owner, now.Add(leaseTTL)
			return nil
		})
		switch {
		case errors.Is(err, errRefreshedElsewhere):
			got, err := s.store.GetInstance(ctx, orgID, id)
			return got, notFound(err, "instance")
		case errors.Is(err, errLeaseHeld):
			// Another replica is at it: wait for the token version to move.
			t := time.NewTimer(50*time.Millisecond + rand.N(50*time.Millisecond))
			select {
			case <-ctx.Done():
				t.Stop()
				return store.Instance{}, apierror.New(http.StatusServiceUnavailable, "refresh_pending", "another connhub replica is refreshing the instance's token; try again")
			case <-t.C:
			}
			continue
		case err != nil:
			return store.Instance{}, notFound(err, "instance")
		}
		return s.refreshWith(ctx, in, kind, secret, also)
	}
}

// refreshHolding calls Slack while this process holds the lease, then stores
// the new tokens (the rotated refresh token first of all) and lets go of it.
func (s *Service) refreshHolding(ctx context.Context, in store.Instance, kind string) (store.Instance, error) {
	return s.refreshWith(ctx, in, kind, "", nil)
}

// refreshWith is refreshHolding with the app's client secret replaced by
// secret when it is set, and also run in the transaction that stores the
// new tokens: how a new client secret is proven at Slack and stored with
// what proved it, or not at all.
func (s *Service) refreshWith(ctx context.Context, in store.Instance, kind string, secret secrets.Secret, also func(q store.Queries) error) (store.Instance, error) {
	release := func(change func(*store.Instance), also func(q store.Queries) error) (out store.Instance, err error) {
		err = s.store.InTx(ctx, func(q store.Queries) error {
			out, err = q.UpdateInstance(ctx, in.OrgID, in.ID, func(i *store.Instance) error {
				if i.RefreshLeaseOwner == s.owner {
					i.RefreshLeaseOwner, i.RefreshLeaseUntil = "", time.Time{}
				}
				if change != nil {
					change(i)
				}
				return nil
			})
			if err != nil || also == nil {
				return err
			}
			return also(q)
		})
		return out, err
	}
	app, err := s.store.GetApp(ctx, in.OrgID, in.AppID)
	if err != nil {
		release(func(i *store.Instance) {
			i.Status, i.StatusReason = store.StatusNeedsReauth, "no_app: the app that issued the tokens is gone; re-authenticate"
		}, nil)
		return in, apierror.New(http.StatusConflict, "needs_reauth", "the instance's app is gone: re-authenticate it")
	}
	if !secret.IsZero() {
		app.ClientSecret = secret
	}
	_, refresh, _ := tokenOf(in, kind)
	tok, err := s.slack.Refresh(ctx, app.ClientID, app.ClientSecret, refresh)
	if err != nil {
		var ae *slack.APIError
		if !secret.IsZero() && errors.As(err, &ae) && slack.Classify(ae.Code) == slack.BadApp {
			// The secret on trial was refused: the instance and its refresh
			// token are as they were.
			release(nil, nil)
			return in, apierror.New(http.StatusBadRequest, "client_secret_rejected", "Slack refused the new client secret ("+ae.Code+"): nothing was changed")
		}
		if errors.As(err, &ae) && ae.HTTPStatus != http.StatusTooManyRequests && ae.HTTPStatus < 500 {
			out, uerr := release(func(i *store.Instance) {
				i.Status, i.StatusReason = store.StatusNeedsReauth, ae.Code+": Slack refused to refresh the "+kind+" token; re-authenticate"
			}, nil)
			if uerr != nil {
				return out, uerr
			}
			s.auditSystem(ctx, out, "instance.refresh_failed", map[string]any{"kind": kind, "code": ae.Code})
			return out, apierror.New(http.StatusConflict, "needs_reauth", "Slack refused to refresh the token ("+ae.Code+"): re-authenticate the instance")
		}
		release(nil, nil)
		return in, slackProblem(err, "refresh the "+kind+" token")
	}
	keep := func(i *store.Instance) {
		if kind == "user" {
			i.UserToken, i.UserRefreshToken, i.UserTokenExpiresAt = tok.Access, tok.Refresh, tok.ExpiresAt
		} else {
			i.BotToken, i.BotRefreshToken, i.BotTokenExpiresAt = tok.Access, tok.Refresh, tok.ExpiresAt
		}
		if i.Status == store.StatusNeedsReauth {
			i.Status, i.StatusReason = store.StatusActive, ""
		}
	}
	out, err := release(keep, also)
	if err != nil && also != nil {
		// What was to be stored with the tokens failed: the tokens, which
		// Slack has rotated, must be kept all the same.
		s.log.Error("instance: store what a refresh proved", "instance", in.ID, "err", err)
		if out, serr := release(keep, nil); serr == nil {
			return out, err
		}
	}
	if err != nil {
		// Slack has spent the old refresh token: without this write the
		// instance must be re-authenticated. Say so loudly.
		s.log.Error("instance: a refreshed token could not be stored; the instance will need re-authentication", "instance", in.ID, "err", err)
		return in, err
	}
	s.log.Info("instance: refreshed", "instance", in.ID, "kind", kind, "expires_at", tok.ExpiresAt)
	return out, nil
}

// RefreshDue renews every active instance's tokens that expire within the
// margin, and reports how many it renewed. Failures are logged and marked on
// the instance; they do not stop the others.
func (s *Service) RefreshDue(ctx context.Context) (int, error) {
	margin := s.margin
	refs, err := s.store.ExpiringInstances(ctx, s.now().Add(margin), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ref := range refs {
		in, err := s.store.GetInstance(ctx, ref.OrgID, ref.ID)
		if err != nil {
			continue
		}
		for _, kind := range []string{"bot", "user"} {
			_, refresh, expires := tokenOf(in, kind)
			if refresh.IsZero() || expires.IsZero() || s.now().Add(margin).Before(expires) {
				continue
			}
			if _, _, err := s.fresh(ctx, in, kind, false); err != nil {
				s.log.Warn("instance: background refresh", "instance", in.ID, "kind", kind, "err", err)
				continue
			}
			n++
		}
	}
	return n, nil
}

// RunRefresher renews tokens in the background every interval until ctx is done.
func (s *Service) RunRefresher(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.RefreshDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("instance: background refresh", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SlackToken is the instance's Slack token of kind ("bot" or "user") to call
// Slack with now: refreshed first when it expires within the margin, or
// always when force is set (Slack answered token_expired). It returns the
// instance as it is after any refresh.
func (s *Service) SlackToken(ctx context.Context, in store.Instance, kind string, force bool) (secrets.Secret, store.Instance, error) {
	return s.fresh(ctx, in, kind, force)
}
