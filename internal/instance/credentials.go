package instance

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/connhub/connhub/internal/apierror"
	"github.com/connhub/connhub/internal/audit"
	"github.com/connhub/connhub/internal/authz"
	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
	"github.com/connhub/connhub/internal/tenant"
)

// Credentials are the ready forms an integration tool authenticates with.
type Credentials struct {
	// Bearer is "Bearer <instance token>".
	Bearer secrets.Secret
	// SCIMToken is the bearer an identity provider's SCIM connection takes
	// (the instance token: it does not expire), and SCIM why the instance
	// cannot provision yet (SCIMReadiness), nil when it can.
	SCIMToken secrets.Secret
	SCIM      *apierror.Problem
}

// Credentials assembles an instance's ready Authorization header, once its
// audit event is written. The Open Connectors form (User …, Organization …,
// Element …) is a named credential's (CreateCredential): it needs a user
// secret, and no person's may be handed to a tool.
func (s *Service) Credentials(ctx context.Context, p tenant.Principal, id string) (Credentials, error) {
	var in store.Instance
	err := s.audited(ctx, p, audit.Event{Action: "instance.credentials.reveal", TargetType: "instance", TargetID: id}, func(q store.Queries) (err error) {
		in, err = s.getIn(ctx, q, p, authz.RevealIntegrationKey, id)
		return err
	})
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Bearer: secrets.Secret("Bearer " + in.InstanceToken.Reveal()), SCIMToken: in.InstanceToken, SCIM: SCIMReadiness(in)}, nil
}

// Named credential kinds.
const (
	CredentialOpenConnectors = "open_connectors"
	CredentialBearer         = "bearer"
)

var errCredentialNotFound = apierror.New(http.StatusNotFound, "not_found", "no such credential in your organization")

// CreateCredential makes a named credential for an integration tool: a
// service identity of its own, bound to the instance, whose secret (or API
// token, for kind bearer) the value carries. The value is in the answer
// once; after that only RevealCredential shows it.
func (s *Service) CreateCredential(ctx context.Context, p tenant.Principal, name, instanceID, kind, description string) (store.Credential, error) {
	if kind == "" {
		kind = CredentialOpenConnectors
	}
	if name = strings.TrimSpace(name); name == "" || len(name) > 100 || (kind != CredentialOpenConnectors && kind != CredentialBearer) {
		return store.Credential{}, apierror.New(http.StatusBadRequest, "invalid_credential", "name (1 to 100 characters) is required and kind is open_connectors or bearer")
	}
	in, err := s.get(ctx, p, authz.WriteCredentials, instanceID)
	if err != nil {
		return store.Credential{}, err
	}
	c := store.Credential{ID: store.NewID("crd"), OrgID: p.Org.ID, Name: name, Kind: kind, InstanceID: in.ID, Description: description}
	err = s.audited(ctx, p, audit.Event{Action: "credential.create", TargetType: "credential", TargetID: c.ID,
		Details: map[string]any{"name": name, "instance": in.ID, "kind": kind}}, func(q store.Queries) error {
		if err := s.newIdentity(ctx, q, p.Org, in, &c); err != nil {
			return err
		}
		var err error
		c, err = q.CreateCredential(ctx, c)
		return err
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.Credential{}, apierror.New(http.StatusConflict, "credential_exists", "a credential named "+name+" exists")
	}
	return c, err
}

// newIdentity makes c's service identity and the value that carries it, and
// points c at them.
func (s *Service) newIdentity(ctx context.Context, q store.Queries, org store.Organization, in store.Instance, c *store.Credential) error {
	userSecret, err := secrets.NewToken(tenant.UserSecretPrefix)
	if err != nil {
		return err
	}
	u, err := q.CreateUser(ctx, store.User{OrgID: org.ID, Email: store.NewID("svc") + "@service.connhub.invalid", Name: "credential " + c.Name,
		Role: store.RoleService, InstanceID: in.ID, SecretHash: secrets.HashToken(userSecret), Secret: secrets.Secret(userSecret)})
	if err != nil {
		return err
	}
	c.UserID = u.ID
	switch c.Kind {
	case CredentialBearer:
		token, err := secrets.NewToken(tenant.APITokenPrefix)
		if err != nil {
			return err
		}
		if _, err := q.CreateAPICredential(ctx, store.APICredential{OrgID: org.ID, UserID: u.ID, Name: "credential " + c.Name,
			TokenHash: secrets.HashToken(token), Hint: tenant.Hint(token)}); err != nil {
			return err
		}
		c.Value, c.Hint = secrets.Secret("Bearer "+token), "Bearer "+tenant.Hint(token)
	default:
		if org.Secret.IsZero() {
			return apierror.New(http.StatusConflict, "no_organization_secret", "the organization has no Open Connectors secret; use kind bearer")
		}
		c.Value = secrets.Secret("User " + userSecret + ", Organization " + org.Secret.Reveal() + ", Element " + in.InstanceToken.Reveal())
		c.Hint = "User " + tenant.Hint(userSecret) + ", Organization " + tenant.Hint(org.Secret.Reveal()) + ", Element " + in.InstanceTokenHint
	}
	return nil
}

// ListCredentials lists the organization's named credentials: their names
// and hints, never their values.
func (s *Service) ListCredentials(ctx context.Context, p tenant.Principal, page store.Page) ([]store.Credential, string, error) {
	if err := authz.Allow(p, authz.ReadCredentials, ""); err != nil {
		return nil, "", err
	}
	return s.store.ListCredentials(ctx, p.Org.ID, page)
}

// GetCredential returns a named credential by ID or name, for its name and
// hint: callers must not show its Value (RevealCredential does, audited).
func (s *Service) GetCredential(ctx context.Context, p tenant.Principal, idOrName string) (store.Credential, error) {
	if err := authz.Allow(p, authz.ReadCredentials, ""); err != nil {
		return store.Credential{}, err
	}
	return s.credential(ctx, s.store, p.Org.ID, idOrName)
}

// RevealCredential returns a named credential with its value, once its
// audit event is written. A credential made before service identities
// carried its maker's own secret: it is not shown, and must be rotated.
func (s *Service) RevealCredential(ctx context.Context, p tenant.Principal, idOrName string) (store.Credential, error) {
	if err := authz.Allow(p, authz.RevealCredential, ""); err != nil {
		return store.Credential{}, err
	}
	var c store.Credential
	err := s.store.InTx(ctx, func(q store.Queries) (err error) {
		if c, err = s.credential(ctx, q, p.Org.ID, idOrName); err != nil {
			return err
		}
		if c.UserID == "" {
			return errOutdatedCredential
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "credential.reveal", TargetType: "credential", TargetID: c.ID, Details: map[string]any{"name": c.Name}})
	})
	return c, err
}

var errOutdatedCredential = apierror.New(http.StatusConflict, "credential_outdated",
	"this credential was made before credentials had identities of their own, and holds its maker's secret: rotate it (POST /v1/credentials/{id}/rotate) for a value that holds none")

// RotateCredential gives a named credential a new service identity and
// value: the old value stops working at once. The answer shows the new
// value once.
func (s *Service) RotateCredential(ctx context.Context, p tenant.Principal, idOrName string) (store.Credential, error) {
	if err := authz.Allow(p, authz.WriteCredentials, ""); err != nil {
		return store.Credential{}, err
	}
	var c store.Credential
	err := s.store.InTx(ctx, func(q store.Queries) (err error) {
		if c, err = s.credential(ctx, q, p.Org.ID, idOrName); err != nil {
			return err
		}
		in, err := q.GetInstance(ctx, p.Org.ID, c.InstanceID)
		if err != nil {
			return err
		}
		old := c.UserID
		if err := s.newIdentity(ctx, q, p.Org, in, &c); err != nil {
			return err
		}
		fresh := c
		if c, err = q.UpdateCredential(ctx, p.Org.ID, c.ID, func(cur *store.Credential) error {
			cur.UserID, cur.Value, cur.Hint = fresh.UserID, fresh.Value, fresh.Hint
			return nil
		}); err != nil {
			return err
		}
		if old != "" {
			if err := q.DeleteUser(ctx, p.Org.ID, old); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "credential.rotate", TargetType: "credential", TargetID: c.ID, Details: map[string]any{"name": c.Name}})
	})
	return c, err
}

// DeleteCredential deletes a named credential and its service identity:
// its value stops working at once.
func (s *Service) DeleteCredential(ctx context.Context, p tenant.Principal, idOrName string) error {
	if err := authz.Allow(p, authz.WriteCredentials, ""); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(q store.Queries) error {
		c, err := s.credential(ctx, q, p.Org.ID, idOrName)
		if err != nil {
			return err
		}
		if err := q.DeleteCredential(ctx, p.Org.ID, c.ID); err != nil {
			return err
		}
		if c.UserID != "" {
			if err := q.DeleteUser(ctx, p.Org.ID, c.UserID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return audit.Write(ctx, q, p, audit.Event{Action: "credential.delete", TargetType: "credential", TargetID: c.ID, Details: map[string]any{"name": c.Name}})
	})
}

// credential finds a named credential by ID, or else by name.
func (s *Service) credential(ctx context.Context, q store.Queries, orgID, idOrName string) (store.Credential, error) {
	c, err := q.GetCredential(ctx, orgID, idOrName)
	if errors.Is(err, store.ErrNotFound) {
		c, err = credentialByName(ctx, q, orgID, idOrName)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, errCredentialNotFound
	}
	return c, err
}

func credentialByName(ctx context.Context, q store.Queries, orgID, name string) (store.Credential, error) {
	after := ""
	for {
		cs, next, err := q.ListCredentials(ctx, orgID, store.Page{After: after, Limit: store.MaxPage})
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
