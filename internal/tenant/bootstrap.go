package tenant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/connhub/connhub/internal/secrets"
	"github.com/connhub/connhub/internal/store"
)

// AdminTokenName names the API credential CONNHUB_ADMIN_TOKEN keeps.
const AdminTokenName = "CONNHUB_ADMIN_TOKEN"

// CredentialsFile is where the first start writes the admin's credentials, in
// the data directory.
const CredentialsFile = "admin-credentials"

// BootstrapResult says what Bootstrap did.
type BootstrapResult struct {
	Created bool // the default organization and admin were made now
	Org     store.Organization
	Admin   store.User
	// File is the credentials file written now, "" when none was.
	File string
}

// Bootstrap makes sure the hub can be signed in to. On an empty database it
// creates the default organization and its admin with an API token (adminToken
// if set, else a generated one) and Open Connectors user and organization
// secrets; generated credentials are printed once to out and written to
// dataDir/admin-credentials, readable by the owner only. On a database that
// has organizations, a set adminToken is made a live API token of the first
// organization's first admin, and a previous CONNHUB_ADMIN_TOKEN is revoked:
// changing the variable rotates the admin token.
//
// A set adminToken must pass CheckAPIToken; Bootstrap refuses one that does
// not, before touching the store.
func Bootstrap(ctx context.Context, s store.Store, adminToken secrets.Secret, dataDir string, out io.Writer) (BootstrapResult, error) {
	if !adminToken.IsZero() {
		if err := CheckAPIToken(adminToken.Reveal()); err != nil {
			return BootstrapResult{}, fmt.Errorf("tenant: bootstrap: %s %w", AdminTokenName, err)
		}
	}
	orgs, _, err := s.ListOrganizations(ctx, store.Page{Limit: 1})
	if err != nil {
		return BootstrapResult{}, fmt.Errorf("tenant: bootstrap: %w", err)
	}
	if len(orgs) > 0 {
		return ensureAdminToken(ctx, s, orgs[0], adminToken)
	}
	return firstStart(ctx, s, adminToken, dataDir, out)
}

func firstStart(ctx context.Context, s store.Store, adminToken secrets.Secret, dataDir string, out io.Writer) (BootstrapResult, error) {
	token, generated := adminToken.Reveal(), false
	if token == "" {
		t, err := secrets.NewToken(APITokenPrefix)
		if err != nil {
			return BootstrapResult{}, err
		}
		token, generated = t, true
	}
	userSecret, err := secrets.NewToken(UserSecretPrefix)
	if err != nil {
		return BootstrapResult{}, err
	}
	orgSecret, err := secrets.NewToken(OrgSecretPrefix)
	if err != nil {
		return BootstrapResult{}, err
	}
	var res BootstrapResult
	err = s.InTx(ctx, func(q store.Queries) error {
		org, err := q.CreateOrganization(ctx, store.Organization{Name: "Default organization", SecretHash: secrets.HashToken(orgSecret), Secret: secrets.Secret(orgSecret)})
		if err != nil {
			return err
		}
		admin, err := q.CreateUser(ctx, store.User{OrgID: org.ID, Email: "admin@localhost", Name: "Administrator", Role: store.RoleAdmin, Operator: true, SecretHash: secrets.HashToken(userSecret), Secret: secrets.Secret(userSecret)})
		if err != nil {
			return err
		}
		name := "admin token (first start)"
		if !generated {
			name = AdminTokenName
		}
		if _, err := q.CreateAPICredential(ctx, store.APICredential{OrgID: org.ID, UserID: admin.ID, Name: name, TokenHash: secrets.HashToken(token), Hint: Hint(token)}); err != nil {
			return err
		}
		_, err = q.AppendAudit(ctx, store.AuditEvent{OrgID: org.ID, ActorKind: "system", ActorID: "system", CredentialID: "system", Action: "organization.bootstrap", TargetType: "organization", TargetID: org.ID})
		res = BootstrapResult{Created: true, Org: org, Admin: admin}
		return err
	})
	if err != nil {
		return BootstrapResult{}, fmt.Errorf("tenant: bootstrap: %w", err)
	}

	file := filepath.Join(dataDir, CredentialsFile)
	body := "# connhub's first-start credentials for the admin of the default organization.\n" +
		"# Anyone who reads this file can act as the admin: keep it, or move it somewhere safe and delete it.\n"
	if generated {
		body += "api_token=" + token + "\n"
	} else {
		body += "# api_token: the value of CONNHUB_ADMIN_TOKEN\n"
	}
	body += "open_connectors_user_secret=" + userSecret + "\nopen_connectors_organization_secret=" + orgSecret + "\n"
	if err := writePrivate(file, []byte(body)); err != nil {
		return BootstrapResult{}, fmt.Errorf("tenant: bootstrap: write %s: %w (the admin's credentials are lost; start again on an empty database)", file, err)
	}
	res.File = file
	fmt.Fprintf(out, "connhub: created the default organization and its admin (shown once; also in %s):\n", file)
	if generated {
		fmt.Fprintf(out, "  API token:        %s\n", token)
	} else {
		fmt.Fprintf(out, "  API token:        the value of CONNHUB_ADMIN_TOKEN\n")
	}
	fmt.Fprintf(out, "  Open Connectors:  Authorization: User %s, Organization %s\n", userSecret, orgSecret)
	return res, nil
}

// ensureAdminToken makes adminToken a live API token of org's first admin.
func ensureAdminToken(ctx context.Context, s store.Store, org store.Organization, adminToken secrets.Secret) (BootstrapResult, error) {
	res := BootstrapResult{Org: org}
	if adminToken.IsZero() {
		return res, nil
	}
	token := adminToken.Reveal()
	hash := secrets.HashToken(token)
	err := s.InTx(ctx, func(q store.Queries) error {
		admin, err := firstAdmin(ctx, q, org.ID)
		if err != nil {
			return err
		}
		res.Admin = admin
		existing, err := q.APICredentialByTokenHash(ctx, hash)
		switch {
		case err == nil && existing.OrgID != org.ID:
			return errors.New("CONNHUB_ADMIN_TOKEN is already the token of another organization's user")
		case err == nil:
			if existing.RevokedAt.IsZero() {
				return nil
			}
			_, err = q.UpdateAPICredential(ctx, org.ID, existing.ID, func(c *store.APICredential) error { c.RevokedAt = time.Time{}; return nil })
			return err
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := revokeNamed(ctx, q, org.ID, AdminTokenName); err != nil {
			return err
		}
		if _, err := q.CreateAPICredential(ctx, store.APICredential{OrgID: org.ID, UserID: admin.ID, Name: AdminTokenName, TokenHash: hash, Hint: Hint(token)}); err != nil {
			return err
		}
		_, err = q.AppendAudit(ctx, store.AuditEvent{OrgID: org.ID, ActorKind: "system", ActorID: "system", CredentialID: "system", Action: "api_credential.admin_token", TargetType: "user", TargetID: admin.ID})
		return err
	})
	if err != nil {
		return res, fmt.Errorf("tenant: set the admin token: %w", err)
	}
	return res, nil
}

func firstAdmin(ctx context.Context, q store.Queries, orgID string) (store.User, error) {
	after := ""
	for {
		users, next, err := q.ListUsers(ctx, orgID, store.Page{After: after, Limit: store.MaxPage})
		if err != nil {
			return store.User{}, err
		}
		for _, u := range users {
			if u.Role == store.RoleAdmin {
				return u, nil
			}
		}
		if next == "" {
			return store.User{}, errors.New("the first organization has no admin to give CONNHUB_ADMIN_TOKEN to")
		}
		after = next
	}
}

// revokeNamed revokes the organization's live API credentials named name.
func revokeNamed(ctx context.Context, q store.Queries, orgID, name string) error {
	after := ""
	for {
		creds, next, err := q.ListAPICredentials(ctx, orgID, store.Page{After: after, Limit: store.MaxPage})
		if err != nil {
			return err
		}
		for _, c := range creds {
			if c.Name == name && c.RevokedAt.IsZero() {
				if _, err := q.UpdateAPICredential(ctx, orgID, c.ID, func(c *store.APICredential) error { c.RevokedAt = time.Now(); return nil }); err != nil {
					return err
				}
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// Hint is what connhub shows of a token to tell it apart: its prefix and four
// characters.
func Hint(token string) string {
	if len(token) < 12 {
		return ""
	}
	i := 0
	for i < len(token) && token[i] != '_' {
		i++
	}
	return token[:min(i+5, len(token))] + "…"
}

// writePrivate writes a file readable by its owner only, replacing any file
// there, through a temporary file and a rename.
func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
