package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/account"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/store"
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
	Role      string    `json:"role" enum:"admin,member"`
	Operator  bool      `json:"operator,omitempty" doc:"May manage the hub's organizations"`
	CreatedAt time.Time `json:"created_at"`
}

func userView(u store.User) User {
	return User{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Operator: u.Operator, CreatedAt: u.CreatedAt}
}

// APIToken is an API token, without its value.
type APIToken struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`
	Scopes     []string   `json:"scopes" doc:"Empty: whatever its user's role may"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func tokenView(c store.APICredential) APIToken {
	return APIToken{ID: c.ID, UserID: c.UserID, Name: c.Name, Hint: c.Hint, Scopes: orEmpty(c.Scopes), CreatedAt: c.CreatedAt,
		LastUsedAt: timePtr(c.LastUsedAt), ExpiresAt: timePtr(c.ExpiresAt), RevokedAt: timePtr(c.RevokedAt)}
}

// NewSecrets are a new principal's secrets, shown once.
type NewSecrets struct {
	APIToken       string `json:"api_token" doc:"Shown once"`
	OpenConnectors string `json:"open_connectors,omitempty" doc:"User …, Organization … for the Open Connectors form: shown once"`
}

type orgOutput struct {
	Body struct {
		Organization Organization `json:"organization"`
		Admin        User         `json:"admin"`
		Secrets      NewSecrets   `json:"secrets"`
	}
}

type orgsOutput struct {
	Body struct {
		Organizations []Organization `json:"organizations"`
		Page
	}
}

type userOutput struct{ Body User }

type newUserOutput struct {
	Body struct {
		User    User       `json:"user"`
		Secrets NewSecrets `json:"secrets"`
	}
}

type usersOutput struct {
	Body struct {
		Users []User `json:"users"`
		Page
	}
}

type newTokenOutput struct {
	Body struct {
		APIToken
		Token string `json:"token" doc:"The token: shown once"`
	}
}

type tokensOutput struct {
	Body struct {
		Tokens []APIToken `json:"tokens"`
		Page
	}
}

func (a *API) accountRoutes() {
	acc := &account.Service{Store: a.o.Store}
	orgTags, userTags, tokenTags := []string{"Organizations"}, []string{"Users"}, []string{"API tokens"}
	huma.Register(a.huma, guarded(authz.ManageOrgs, huma.Operation{OperationID: "create-org", Method: http.MethodPost, Path: "/v1/orgs", DefaultStatus: http.StatusCreated,
		Summary: "Make an organization", Description: "Hub operators only. Makes the organization, its first admin and the admin's API token; the answer shows the secrets once.", Tags: orgTags}),
		func(ctx context.Context, in *struct {
			Body struct {
				Name       string `json:"name" minLength:"1" maxLength:"200"`
				AdminEmail string `json:"admin_email" format:"email"`
				AdminName  string `json:"admin_name,omitempty" maxLength:"200"`
			}
		}) (*orgOutput, error) {
			o, err := acc.CreateOrg(ctx, principal(ctx), account.OrgInput{Name: in.Body.Name, AdminEmail: in.Body.AdminEmail, AdminName: in.Body.AdminName})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &orgOutput{}
			out.Body.Organization = Organization{ID: o.Org.ID, Name: o.Org.Name, CreatedAt: o.Org.CreatedAt}
			out.Body.Admin = userView(o.Admin)
			out.Body.Secrets = NewSecrets{APIToken: o.Secrets.APIToken.Reveal(),
				OpenConnectors: "User " + o.Secrets.UserSecret.Reveal() + ", Organization " + o.Secrets.OrgSecret.Reveal()}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadOrganizations, huma.Operation{OperationID: "list-orgs", Method: http.MethodGet, Path: "/v1/orgs",
		Summary: "List the hub's organizations", Description: "Hub operators only.", Tags: orgTags}),
		func(ctx context.Context, in *PageQuery) (*orgsOutput, error) {
			orgs, next, err := acc.ListOrgs(ctx, principal(ctx), in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &orgsOutput{}
			out.Body.Organizations, out.Body.NextCursor = make([]Organization, len(orgs)), next
			for i, o := range orgs {
				out.Body.Organizations[i] = Organization{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt}
			}
			return out, nil
		})

	huma.Register(a.huma, guarded(authz.WriteUsers, huma.Operation{OperationID: "create-user", Method: http.MethodPost, Path: "/v1/users", DefaultStatus: http.StatusCreated,
		Summary: "Add a person to the organization", Description: "Admins only. The answer shows the person's first API token and Open Connectors User secret once.", Tags: userTags}),
		func(ctx context.Context, in *struct {
			Body struct {
				Email string `json:"email" format:"email"`
				Name  string `json:"name,omitempty" maxLength:"200"`
				Role  string `json:"role,omitempty" enum:"admin,member" default:"member"`
			}
		}) (*newUserOutput, error) {
			p := principal(ctx)
			u, sec, err := acc.CreateUser(ctx, p, account.UserInput{Email: in.Body.Email, Name: in.Body.Name, Role: in.Body.Role})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &newUserOutput{}
			out.Body.User = userView(u)
			out.Body.Secrets = NewSecrets{APIToken: sec.APIToken.Reveal(), OpenConnectors: "User " + sec.UserSecret.Reveal() + ", Organization <the organization secret>"}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadUsers, huma.Operation{OperationID: "list-users", Method: http.MethodGet, Path: "/v1/users", Summary: "List the organization's people", Tags: userTags}),
		func(ctx context.Context, in *PageQuery) (*usersOutput, error) {
			users, next, err := acc.ListUsers(ctx, principal(ctx), in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &usersOutput{}
			out.Body.Users, out.Body.NextCursor = make([]User, len(users)), next
			for i, u := range users {
				out.Body.Users[i] = userView(u)
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ReadUsers, huma.Operation{OperationID: "get-user", Method: http.MethodGet, Path: "/v1/users/{id}", Summary: "Get a person of the organization", Tags: userTags}),
		func(ctx context.Context, in *IDPath) (*userOutput, error) {
			u, err := acc.GetUser(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &userOutput{Body: userView(u)}, nil
		})
	huma.Register(a.huma, guarded(authz.WriteUsers, huma.Operation{OperationID: "update-user", Method: http.MethodPatch, Path: "/v1/users/{id}",
		Summary: "Rename a person or change their role", Description: "Admins only. The organization keeps at least one admin (409 last_admin).", Tags: userTags}),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Name *string `json:"name,omitempty" maxLength:"200"`
				Role *string `json:"role,omitempty" enum:"admin,member"`
			}
		}) (*userOutput, error) {
			u, err := acc.UpdateUser(ctx, principal(ctx), in.ID, account.UserPatch{Name: in.Body.Name, Role: in.Body.Role})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &userOutput{Body: userView(u)}, nil
		})
	huma.Register(a.huma, guarded(authz.WriteUsers, huma.Operation{OperationID: "delete-user", Method: http.MethodDelete, Path: "/v1/users/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Remove a person", Description: "Admins only. Their API tokens stop working and their console sessions end at once. The organization keeps at least one admin.", Tags: userTags}),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			if err := acc.DeleteUser(ctx, principal(ctx), in.ID); err != nil {
				return nil, a.fail(ctx, err)
			}
			return nil, nil
		})

	huma.Register(a.huma, guarded(authz.ManageOwnTokens, huma.Operation{OperationID: "create-token", Method: http.MethodPost, Path: "/v1/tokens", DefaultStatus: http.StatusCreated,
		Summary:     "Make an API token",
		Description: "A token of the caller's, shown once. scopes narrow what it may do (" + scopeList() + "); expires_in bounds its life (a Go duration, e.g. 720h).",
		Tags:        tokenTags}),
		func(ctx context.Context, in *struct {
			Body struct {
				Name      string   `json:"name" minLength:"1" maxLength:"100"`
				Scopes    []string `json:"scopes,omitempty"`
				ExpiresIn string   `json:"expires_in,omitempty" example:"720h" doc:"How long it lives, as a Go duration; empty: until revoked"`
			}
		}) (*newTokenOutput, error) {
			var life time.Duration
			if in.Body.ExpiresIn != "" {
				var err error
				if life, err = time.ParseDuration(in.Body.ExpiresIn); err != nil || life <= 0 {
					return nil, &apiError{status: http.StatusBadRequest, Code: "invalid_token", Message: "expires_in is a positive Go duration, such as 24h or 720h"}
				}
			}
			c, tok, err := acc.CreateToken(ctx, principal(ctx), account.TokenInput{Name: in.Body.Name, Scopes: in.Body.Scopes, ExpiresIn: life})
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &newTokenOutput{}
			out.Body.APIToken, out.Body.Token = tokenView(c), tok.Reveal()
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ManageOwnTokens, huma.Operation{OperationID: "list-tokens", Method: http.MethodGet, Path: "/v1/tokens",
		Summary: "List API tokens", Description: "The caller's own; an admin's lists the organization's. Never their values.", Tags: tokenTags}),
		func(ctx context.Context, in *PageQuery) (*tokensOutput, error) {
			list, next, err := acc.ListTokens(ctx, principal(ctx), in.page())
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := &tokensOutput{}
			out.Body.Tokens, out.Body.NextCursor = make([]APIToken, len(list)), next
			for i, c := range list {
				out.Body.Tokens[i] = tokenView(c)
			}
			return out, nil
		})
	huma.Register(a.huma, guarded(authz.ManageOwnTokens, huma.Operation{OperationID: "revoke-token", Method: http.MethodDelete, Path: "/v1/tokens/{id}", DefaultStatus: http.StatusNoContent,
		Summary: "Revoke an API token", Description: "One's own, or as an admin any of the organization's. It stops working at its next use, on every replica.", Tags: tokenTags}),
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			if err := acc.RevokeToken(ctx, principal(ctx), in.ID); err != nil {
				return nil, a.fail(ctx, err)
			}
			return nil, nil
		})
}

func scopeList() string { return strings.Join(authz.Scopes, ", ") }
