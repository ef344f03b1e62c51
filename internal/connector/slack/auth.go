package slack

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	slackgo "github.com/slack-go/slack"
)

// Identity is who a token is, as auth.test says.
type Identity struct {
	URL          string // "https://<domain>.slack.com/"
	Team         string
	TeamID       string // the workspace; the enterprise (E…) for an org-wide token
	User         string
	UserID       string // the bot user for a bot token
	BotID        string // bot tokens only
	EnterpriseID string // Enterprise Grid only
	AppID        string
	OrgWide      bool      // is_enterprise_install
	Scopes       []string  // X-OAuth-Scopes: what the token was granted
	ExpiresAt    time.Time // zero: the token does not expire
	Kind         string    // "bot" if BotID != "" else "user"
}

// AuthTest asks Slack who token is. A dead token gives an *APIError for which
// IsTokenDead is true; an expired one, IsTokenExpired.
//
// This is plain net/http rather than slack-go's AuthTestContext: slack-go's
// AuthTestResponse has no app_id, is_enterprise_install or expires_in.
func (c *Client) AuthTest(ctx context.Context, token secrets.Secret) (Identity, error) {
	var r struct {
		URL          string `json:"url"`
		Team         string `json:"team"`
		User         string `json:"user"`
		TeamID       string `json:"team_id"`
		UserID       string `json:"user_id"`
		BotID        string `json:"bot_id"`
		EnterpriseID string `json:"enterprise_id"`
		AppID        string `json:"app_id"`
		OrgWide      bool   `json:"is_enterprise_install"`
		ExpiresIn    int    `json:"expires_in"`
	}
	h, err := c.call(ctx, "auth.test", token, nil, &r)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{URL: r.URL, Team: r.Team, TeamID: r.TeamID, User: r.User, UserID: r.UserID, BotID: r.BotID,
		EnterpriseID: r.EnterpriseID, AppID: r.AppID, OrgWide: r.OrgWide, Scopes: splitScopes(h.Get("X-OAuth-Scopes")),
		ExpiresAt: c.expiry(r.ExpiresIn), Kind: "user"}
	if id.BotID != "" {
		id.Kind = "bot"
	}
	return id, nil
}

// Revoke ends token's grant at Slack (auth.revoke): the token, its refresh
// token and every other token of the grant stop working.
func (c *Client) Revoke(ctx context.Context, token secrets.Secret) error {
	const method = "auth.revoke"
	resp, err := c.api(token).SendAuthRevokeContext(ctx, "")
	if err != nil {
		return fromSlackGo(method, err)
	}
	if err := slackOK(method, resp.SlackResponse); err != nil {
		return err
	}
	if !resp.Revoked { // ok without revoked: Slack only tested the revocation
		return newAPIError(method, "not_revoked", http.StatusOK)
	}
	return nil
}

// Team is a workspace an org-wide install reaches.
type Team struct{ ID, Name string }

// maxTeamPages stops a Slack that hands out cursors forever.
const maxTeamPages = 10_000

// Teams lists the workspaces token reaches (auth.teams.list), every page. A
// workspace token lists its own workspace.
func (c *Client) Teams(ctx context.Context, token secrets.Secret) ([]Team, error) {
	const method = "auth.teams.list"
	api := c.api(token)
	var out []Team
	cursor := ""
	for range maxTeamPages {
		page, next, err := api.ListTeamsContext(ctx, slackgo.ListTeamsParameters{Limit: c.teamsPageSize, Cursor: cursor})
		if err != nil {
			return nil, fromSlackGo(method, err)
		}
		for _, t := range page {
			out = append(out, Team{ID: t.ID, Name: t.Name})
		}
		if next == "" {
			return out, nil
		}
		if next == cursor {
			return nil, fmt.Errorf("slack: %s: the same cursor twice: %w", method, ErrBadResponse)
		}
		cursor = next
	}
	return nil, fmt.Errorf("slack: %s: more than %d pages: %w", method, maxTeamPages, ErrBadResponse)
}
