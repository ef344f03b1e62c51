package account

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Service manages organizations, their users and API tokens.
type Service struct {
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// MaxTokenLifetime bounds how long an API token made through the API may
// live; tokens without an expiry live until revoked.
const MaxTokenLifetime = 5 * 365 * 24 * time.Hour

var (
	errUserNotFound  = apierror.New(http.StatusNotFound, "not_found", "no such user in your organization")
	errTokenNotFound = apierror.New(http.StatusNotFound, "not_found", "no such API token in your organization")
)

// Secrets are a new principal's credentials, shown once.
type Secrets struct {
	APIToken secrets.Secret
	// The Open Connectors form's parts, for a person.
	UserSecret secrets.Secret
	OrgSecret  secrets.Secret // only when the organization is new
}

// NewOrg is an organization made with its first admin.
type NewOrg struct {
	Org     store.Organization
	Admin   store.User
	Secrets Secrets
}

// OrgInput makes an organization.
type OrgInput struct {
	Name       string
	AdminEmail string
	AdminName  string
}

// CreateOrg makes an organization, its first admin and the admin's API
// token (hub operators only). The new organization's chain begins with
// its creation; the operator's records it too.
func (s *Service) CreateOrg(ctx context.Context, p tenant.Principal, in OrgInput) (NewOrg, error) {
	if err := authz.Allow(p, authz.ManageOrgs, ""); err != nil {
		return NewOrg{}, err
	}
	in.Name, in.AdminEmail = strings.TrimSpace(in.Name), strings.TrimSpace(in.AdminEmail)
	var problems []string
	if in.Name == "" || len(in.Name) > 200 {
		problems = append(problems, "name is required (at most 200 characters)")
	}
	if err := checkEmail(in.AdminEmail); err != nil {
		problems = append(problems, "admin_email: "+err.Error())
	}
	if len(problems) > 0 {
		return NewOrg{}, apierror.New(http.StatusBadRequest, "invalid_organization", strings.Join(problems, "; "))
	}
	var out NewOrg
	orgSecret, err := secrets.NewToken(tenant.OrgSecretPrefix)
	if err != nil {
		return NewOrg{}, err
	}
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		org, err := q.CreateOrganization(ctx, store.Organization{Name: in.Name, SecretHash: secrets.HashToken(orgSecret), Secret: secrets.Secret(orgSecret)})
		if err != nil {
			return err
		}
		admin, sec, err := s.newUser(ctx, q, org.ID, in.AdminEmail, in.AdminName, store.RoleAdmin)
		if err != nil {
			return err
		}
		sec.OrgSecret = secrets.Secret(orgSecret)
		out = NewOrg{Org: org, Admin: admin, Secrets: sec}
		created := audit.Event{Action: "organization.create", TargetType: "organization", TargetID: org.ID, Details: map[string]any{"name": org.Name, "admin": admin.ID}}
		if err := audit.Write(ctx, q, p, created); err != nil {
			return err
		}
		inNew := p
		inNew.Org = org
		return audit.Write(ctx, q, inNew, created)
	})
	return out, err
}

// ListOrgs lists the hub's organizations (hub operators only).
func (s *Service) ListOrgs(ctx context.Context, p tenant.Principal, page store.Page) ([]store.Organization, string, error) {
	if err := authz.Allow(p, authz.ReadOrganizations, ""); err != nil {
		return nil, "", err
	}
	return s.Store.ListOrganizations(ctx, page)
}

func checkEmail(email string) error {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 320 {
		return errors.New("an email address such as ada@example.com")
	}
	return nil
}

// newUser makes a person with a user secret and an API token.
func (s *Service) newUser(ctx context.Context, q store.Queries, orgID, email, name, role string) (store.User, Secrets, error) {
	userSecret, err := secrets.NewToken(tenant.UserSecretPrefix)
	if err != nil {
		return store.User{}, Secrets{}, err
	}
	token, err := secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		return store.User{}, Secrets{}, err
	}
	u, err := q.CreateUser(ctx, store.User{OrgID: orgID, Email: email, Name: name, Role: role,
		SecretHash: secrets.HashToken(userSecret), Secret: secrets.Secret(userSecret)})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, Secrets{}, apierror.New(http.StatusConflict, "user_exists", "a user with the email "+email+" exists in the organization")
	}
	if err != nil {
		return store.User{}, Secrets{}, err
	}
	if _, err := q.CreateAPICredential(ctx, store.APICredential{OrgID: orgID, UserID: u.ID, Name: "first token", TokenHash: secrets.HashToken(token),
		Hint: tenant.Hint(token)}); err != nil {
		return store.User{}, Secrets{}, err
	}
	return u, Secrets{APIToken: secrets.Secret(token), UserSecret: secrets.Secret(userSecret)}, nil
}

// UserInput makes or changes a user.
type UserInput struct {
	Email string
	Name  string
	Role  string // store.RoleAdmin or store.RoleMember
}

func checkRole(role string) error {
	if role != store.RoleAdmin && role != store.RoleMember {
		return apierror.New(http.StatusBadRequest, "invalid_user", "role is admin or member")
	}
	return nil
}

// CreateUser adds a person to the caller's organization, with a first API
// token and a user secret, shown once.
func (s *Service) CreateUser(ctx context.Context, p tenant.Principal, in UserInput) (store.User, Secrets, error) {
	if err := authz.Allow(p, authz.WriteUsers, ""); err != nil {
		return store.User{}, Secrets{}, err
	}
	if in.Role == "" {
		in.Role = store.RoleMember
	}
	in.Email = strings.TrimSpace(in.Email)
	if err := checkEmail(in.Email); err != nil {
		return store.User{}, Secrets{}, apierror.New(http.StatusBadRequest, "invalid_user", "email: "+err.Error())
	}
	if err := checkRole(in.Role); err != nil {
		return store.User{}, Secrets{}, err
	}
	var u store.User
	var sec Secrets
	err := s.Store.InTx(ctx, func(q store.Queries) (err error) {
		if u, sec, err = s.newUser(ctx, q, p.Org.ID, in.Email, in.Name, in.Role); err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "user.create", TargetType: "user", TargetID: u.ID, Details: map[string]any{"email": u.Email, "role": u.Role}})
	})
	return u, sec, err
}

// ListUsers lists the organization's people (service identities are their
// credentials', and listed with them).
func (s *Service) ListUsers(ctx context.Context, p tenant.Principal, page store.Page) ([]store.User, string, error) {
	if err := authz.Allow(p, authz.ReadUsers, ""); err != nil {
		return nil, "", err
	}
	users, next, err := s.Store.ListUsers(ctx, p.Org.ID, page)
	users = slices.DeleteFunc(users, func(u store.User) bool { return u.Role == store.RoleService })
	return users, next, err
}

// GetUser returns one person of the organization.
func (s *Service) GetUser(ctx context.Context, p tenant.Principal, id string) (store.User, error) {
	if err := authz.Allow(p, authz.ReadUsers, ""); err != nil {
		return store.User{}, err
	}
	return person(ctx, s.Store, p.Org.ID, id)
}

// person loads a user that is a person, not a credential's identity.
func person(ctx context.Context, q store.Queries, orgID, id string) (store.User, error) {
	u, err := q.GetUser(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Role == store.RoleService) {
		return store.User{}, errUserNotFound
	}
	return u, err
}

// UserPatch changes a user; nil fields stay.
type UserPatch struct {
	Name *string
	Role *string
}

// UpdateUser renames a user or changes their role. The organization keeps
// at least one admin.
func (s *Service) UpdateUser(ctx context.Context, p tenant.Principal, id string, patch UserPatch) (store.User, error) {
	if err := authz.Allow(p, authz.WriteUsers, ""); err != nil {
		return store.User{}, err
	}
	if patch.Role != nil {
		if err := checkRole(*patch.Role); err != nil {
			return store.User{}, err
		}
	}
	var u store.User
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		cur, err := person(ctx, q, p.Org.ID, id)
		if err != nil {
			return err
		}
		if patch.Role != nil && cur.Role == store.RoleAdmin && *patch.Role != store.RoleAdmin {
			if err := keepAnAdmin(ctx, q, p.Org.ID, id); err != nil {
				return err
			}
		}
		if u, err = q.UpdateUser(ctx, p.Org.ID, id, func(u *store.User) error {
			if patch.Name != nil {
				u.Name = *patch.Name
			}
			if patch.Role != nil {
				u.Role = *patch.Role
			}
			return nil
		}); err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "user.update", TargetType: "user", TargetID: id, Details: map[string]any{"role": u.Role, "name": u.Name}})
	})
	return u, err
}

// DeleteUser removes a person and their API tokens; their sessions end at
// their next request.
func (s *Service) DeleteUser(ctx context.Context, p tenant.Principal, id string) error {
	if err := authz.Allow(p, authz.WriteUsers, ""); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(q store.Queries) error {
		cur, err := person(ctx, q, p.Org.ID, id)
		if err != nil {
			return err
		}
		if cur.Role == store.RoleAdmin {
			if err := keepAnAdmin(ctx, q, p.Org.ID, id); err != nil {
				return err
			}
		}
		if err := q.DeleteUser(ctx, p.Org.ID, id); err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "user.delete", TargetType: "user", TargetID: id, Details: map[string]any{"email": cur.Email}})
	})
}

// keepAnAdmin refuses when the user but is the organization's last admin.
func keepAnAdmin(ctx context.Context, q store.Queries, orgID, but string) error {
	after := ""
	for {
		users, next, err := q.ListUsers(ctx, orgID, store.Page{After: after, Limit: store.MaxPage})
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.Role == store.RoleAdmin && u.ID != but {
				return nil
			}
		}
		if next == "" {
			return apierror.New(http.StatusConflict, "last_admin", "the organization must keep an admin: make another user admin first")
		}
		after = next
	}
}

// TokenInput makes an API token.
type TokenInput struct {
	Name      string
	Scopes    []string      // empty: whatever the user's role may
	ExpiresIn time.Duration // zero: until revoked
}

// CreateToken makes an API token for the caller, shown once. A token made
// with a scoped token may hold no scope its maker does not: a token never
// mints a stronger one.
func (s *Service) CreateToken(ctx context.Context, p tenant.Principal, in TokenInput) (store.APICredential, secrets.Secret, error) {
	if err := authz.Allow(p, authz.ManageOwnTokens, ""); err != nil {
		return store.APICredential{}, "", err
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "" || len(in.Name) > 100:
		return store.APICredential{}, "", apierror.New(http.StatusBadRequest, "invalid_token", "name is required (at most 100 characters)")
	case in.ExpiresIn < 0 || in.ExpiresIn > MaxTokenLifetime:
		return store.APICredential{}, "", apierror.New(http.StatusBadRequest, "invalid_token", fmt.Sprintf("expires_in is at most %s", MaxTokenLifetime))
	}
	if err := authz.ValidScopes(in.Scopes); err != nil {
		return store.APICredential{}, "", err
	}
	if held := p.Credential; held != nil && len(held.Scopes) > 0 {
		if len(in.Scopes) == 0 {
			in.Scopes = held.Scopes
		}
		for _, sc := range in.Scopes {
			if !slices.Contains(held.Scopes, sc) {
				return store.APICredential{}, "", apierror.New(http.StatusForbidden, "forbidden", "a scoped API token can make tokens with its own scopes only ("+strings.Join(held.Scopes, ", ")+")")
			}
		}
	}
	token, err := secrets.NewToken(tenant.APITokenPrefix)
	if err != nil {
		return store.APICredential{}, "", err
	}
	c := store.APICredential{OrgID: p.Org.ID, UserID: p.User.ID, Name: in.Name, TokenHash: secrets.HashToken(token), Hint: tenant.Hint(token), Scopes: in.Scopes}
	if in.ExpiresIn > 0 {
		c.ExpiresAt = s.now().Add(in.ExpiresIn).UTC().Truncate(time.Millisecond)
	}
	err = s.Store.InTx(ctx, func(q store.Queries) (err error) {
		if c, err = q.CreateAPICredential(ctx, c); err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "token.create", TargetType: "token", TargetID: c.ID, Details: map[string]any{"name": c.Name, "scopes": c.Scopes}})
	})
	if err != nil {
		return store.APICredential{}, "", err
	}
	return c, secrets.Secret(token), nil
}

// ListTokens lists API tokens of people: the caller's own, or an admin's
// whole organization's.
func (s *Service) ListTokens(ctx context.Context, p tenant.Principal, page store.Page) ([]store.APICredential, string, error) {
	if err := authz.Allow(p, authz.ManageOwnTokens, ""); err != nil {
		return nil, "", err
	}
	all := authz.Allow(p, authz.ManageOrgTokens, "") == nil
	var out []store.APICredential
	for {
		list, next, err := s.Store.ListAPICredentials(ctx, p.Org.ID, page)
		if err != nil {
			return nil, "", err
		}
		for _, c := range list {
			if all || c.UserID == p.User.ID {
				out = append(out, c)
			}
		}
		// Fill the page when the filter took rows out; a page never holds
		// more than asked, and its cursor is its last token's ID.
		if len(out) > page.Size() {
			out = out[:page.Size()]
			return out, out[len(out)-1].ID, nil
		}
		if len(out) == page.Size() {
			return out, next, nil
		}
		if next == "" {
			return out, "", nil
		}
		page.After = next
	}
}

// RevokeToken revokes an API token: the caller's own, or as an admin any
// of the organization's. It stops working at its next use, on every
// replica.
func (s *Service) RevokeToken(ctx context.Context, p tenant.Principal, id string) error {
	if err := authz.Allow(p, authz.ManageOwnTokens, ""); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(q store.Queries) error {
		c, err := q.GetAPICredential(ctx, p.Org.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return errTokenNotFound
		} else if err != nil {
			return err
		}
		if c.UserID != p.User.ID {
			if err := authz.Allow(p, authz.ManageOrgTokens, ""); err != nil {
				return errTokenNotFound
			}
		}
		if _, err := q.UpdateAPICredential(ctx, p.Org.ID, id, func(c *store.APICredential) error {
			if c.RevokedAt.IsZero() {
				c.RevokedAt = s.now()
			}
			return nil
		}); err != nil {
			return err
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "token.revoke", TargetType: "token", TargetID: id, Details: map[string]any{"name": c.Name, "user": c.UserID}})
	})
}
