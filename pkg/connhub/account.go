package connhub

import (
	"context"
	"net/http"
	"time"
)

// Organization is a tenant of the hub.
type Organization struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person of an organization.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name,omitempty"`
	Role      string    `json:"role"` // "admin" or "member"
	Operator  bool      `json:"operator,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// NewSecrets are a new person's secrets, shown once.
type NewSecrets struct {
	APIToken       string `json:"api_token"`
	OpenConnectors string `json:"open_connectors,omitempty"`
}

// NewOrganization is an organization made with its first admin.
type NewOrganization struct {
	Organization Organization `json:"organization"`
	Admin        User         `json:"admin"`
	Secrets      NewSecrets   `json:"secrets"`
}

// NewUser is a person added to the organization, with their secrets.
type NewUser struct {
	User    User       `json:"user"`
	Secrets NewSecrets `json:"secrets"`
}

// APIToken is an API token, without its value (Token is set once, when it
// is made).
type APIToken struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Token      string     `json:"token,omitempty"`
}

// CreateOrg makes an organization with its first admin (POST /v1/orgs):
// hub operators only.
func (c *Client) CreateOrg(ctx context.Context, name, adminEmail, adminName string) (NewOrganization, error) {
	var out NewOrganization
	in := struct {
		Name       string `json:"name"`
		AdminEmail string `json:"admin_email"`
		AdminName  string `json:"admin_name,omitempty"`
	}{name, adminEmail, adminName}
	err := c.do(ctx, http.MethodPost, "/v1/orgs", nil, in, &out)
	return out, err
}

// ListOrgs lists the hub's organizations (GET /v1/orgs): hub operators only.
func (c *Client) ListOrgs(ctx context.Context, opts ListOptions) ([]Organization, string, error) {
	var out struct {
		Organizations []Organization `json:"organizations"`
		NextCursor    string         `json:"next_cursor"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/orgs", pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out.Organizations, out.NextCursor, err
}

// CreateUser adds a person to the organization (POST /v1/users): admins.
func (c *Client) CreateUser(ctx context.Context, email, name, role string) (NewUser, error) {
	var out NewUser
	in := struct {
		Email string `json:"email"`
		Name  string `json:"name,omitempty"`
		Role  string `json:"role,omitempty"`
	}{email, name, role}
	err := c.do(ctx, http.MethodPost, "/v1/users", nil, in, &out)
	return out, err
}

// ListUsers lists the organization's people (GET /v1/users).
func (c *Client) ListUsers(ctx context.Context, opts ListOptions) ([]User, string, error) {
	var out struct {
		Users      []User `json:"users"`
		NextCursor string `json:"next_cursor"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/users", pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out.Users, out.NextCursor, err
}

// UpdateUser renames a person or changes their role (PATCH /v1/users/{id}):
// admins. Nil fields stay.
func (c *Client) UpdateUser(ctx context.Context, id string, name, role *string) (User, error) {
	var out User
	if err := needID("user", id); err != nil {
		return out, err
	}
	in := struct {
		Name *string `json:"name,omitempty"`
		Role *string `json:"role,omitempty"`
	}{name, role}
	err := c.do(ctx, http.MethodPatch, "/v1/users/"+pathID(id), nil, in, &out)
	return out, err
}

// DeleteUser removes a person and their tokens (DELETE /v1/users/{id}): admins.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	if err := needID("user", id); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/v1/users/"+pathID(id), nil, nil, nil)
}

// CreateToken makes an API token of the caller's (POST /v1/tokens); the
// answer's Token is the value, shown this once. expiresIn is a Go duration
// ("720h"), "" for none.
func (c *Client) CreateToken(ctx context.Context, name string, scopes []string, expiresIn string) (APIToken, error) {
	var out APIToken
	in := struct {
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes,omitempty"`
		ExpiresIn string   `json:"expires_in,omitempty"`
	}{name, scopes, expiresIn}
	err := c.do(ctx, http.MethodPost, "/v1/tokens", nil, in, &out)
	return out, err
}

// ListTokens lists API tokens (GET /v1/tokens): the caller's own, or an
// admin's whole organization's.
func (c *Client) ListTokens(ctx context.Context, opts ListOptions) ([]APIToken, string, error) {
	var out struct {
		Tokens     []APIToken `json:"tokens"`
		NextCursor string     `json:"next_cursor"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/tokens", pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out.Tokens, out.NextCursor, err
}

// RevokeToken revokes an API token (DELETE /v1/tokens/{id}).
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	if err := needID("token", id); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/v1/tokens/"+pathID(id), nil, nil, nil)
}
