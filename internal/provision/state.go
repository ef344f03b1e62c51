package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The SCIM v2 schemas this package reads and writes.
const (
	SchemaUser    = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup   = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaGuest   = "urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User"
)

// PageSize is SCIM's largest page on Slack: a list asks for it.
const PageSize = 1000

// User is a Slack user as SCIM shows it, with the attributes a directory file
// can name.
type User struct {
	ID          string  `json:"id"`
	UserName    string  `json:"userName"`
	Name        Name    `json:"name"`
	DisplayName string  `json:"displayName"`
	Title       string  `json:"title"`
	Active      bool    `json:"active"`
	Emails      []Email `json:"emails,omitempty"`
	Guest       *Guest  `json:"urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User,omitempty"`
}

// Name is a SCIM user's name.
type Name struct {
	GivenName  string `json:"givenName,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
}

// Email is one of a SCIM user's emails.
type Email struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

// Guest is Slack's guest extension: type "multi" (multi-channel) or
// "single"; the expiration is RFC 3339. Slack takes channels when it makes a
// guest and does not show them back.
type Guest struct {
	Type       string   `json:"type"`
	Expiration string   `json:"expiration,omitempty"`
	Channels   []string `json:"channels,omitempty"`
}

// PrimaryEmail is the email marked primary, else the first.
func (u User) PrimaryEmail() string {
	for _, e := range u.Emails {
		if e.Primary {
			return e.Value
		}
	}
	if len(u.Emails) > 0 {
		return u.Emails[0].Value
	}
	return ""
}

// SecondaryEmail is the first email that is not the primary one. Slack keeps
// at most one.
func (u User) SecondaryEmail() string {
	p := u.PrimaryEmail()
	for _, e := range u.Emails {
		if !strings.EqualFold(e.Value, p) {
			return e.Value
		}
	}
	return ""
}

// guestType is "" for a full member.
func (u User) guestType() string {
	if u.Guest == nil {
		return ""
	}
	return u.Guest.Type
}

func (u User) guestExpiration() time.Time {
	if u.Guest == nil || u.Guest.Expiration == "" {
		return time.Time{}
	}
	t, _ := parseTime(u.Guest.Expiration)
	return t
}

// Group is a Slack user group as SCIM shows it.
type Group struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Members     []Member `json:"members,omitempty"`
}

// Member is one member of a group: a user ID.
type Member struct {
	Value   string `json:"value"`
	Display string `json:"display,omitempty"`
}

// State is what the planner compares a directory file with: Slack's users
// and groups, read once.
type State struct {
	Users  []User  `json:"users"`
	Groups []Group `json:"groups"`
	// Protected names users the plan must never deactivate, by ID, with the
	// reason ("primary owner", "bot"). SCIM does not say who they are: the
	// caller fills it (from users.list's is_primary_owner and is_bot, say).
	// Slack refuses to deactivate the primary owner anyway; apply records
	// that refusal as skipped.
	Protected map[string]string `json:"protected,omitempty"`
}

// ReadState reads every user and group through c, paged at SCIM's largest
// page (count=1000), sending a page again on 429 or 5xx within r's bounds.
func ReadState(ctx context.Context, c Client, r Retry) (*State, error) {
	r = r.withDefaults()
	users, err := readAll[User](ctx, c, r, "/Users")
	if err != nil {
		return nil, err
	}
	groups, err := readAll[Group](ctx, c, r, "/Groups")
	if err != nil {
		return nil, err
	}
	return &State{Users: users, Groups: groups}, nil
}

// listPage is a SCIM ListResponse.
type listPage[T any] struct {
	TotalResults int `json:"totalResults"`
	StartIndex   int `json:"startIndex"`
	Resources    []T `json:"Resources"`
}

func readAll[T any](ctx context.Context, c Client, r Retry, path string) ([]T, error) {
	var out []T
	for start := 1; ; {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(PageSize)}}
		status, body, err := get(ctx, c, r, path, q)
		if err != nil {
			return nil, err // a *StoppedError names the path, and ctx's error needs none
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("provision: read %s: %w", path, apiError(http.MethodGet, path, status, body))
		}
		var page listPage[T]
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("provision: read %s: the answer is not a SCIM list: %w", path, err)
		}
		out = append(out, page.Resources...)
		start += len(page.Resources)
		if len(page.Resources) == 0 || start > page.TotalResults {
			return out, nil
		}
	}
}

// findUsers lists the users a SCIM filter matches (at most one page).
func findUsers(ctx context.Context, c Client, r Retry, filter string) ([]User, error) {
	return find[User](ctx, c, r, "/Users", filter)
}

func findGroups(ctx context.Context, c Client, r Retry, filter string) ([]Group, error) {
	return find[Group](ctx, c, r, "/Groups", filter)
}

func find[T any](ctx context.Context, c Client, r Retry, path, filter string) ([]T, error) {
	q := url.Values{"filter": {filter}, "count": {strconv.Itoa(PageSize)}}
	status, body, err := get(ctx, c, r, path, q)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, apiError(http.MethodGet, path, status, body)
	}
	var page listPage[T]
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("provision: find in %s: the answer is not a SCIM list: %w", path, err)
	}
	return page.Resources, nil
}

// filterEq is a SCIM filter "attr eq value", the value a quoted string.
// Values come from a validated file (emails, user names, group names): only
// backslashes and quotes need escaping.
func filterEq(attr, value string) string {
	return attr + ` eq "` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value) + `"`
}
