package connhub

import (
	"context"
	"iter"
	"net/http"
)

// CreateCredential makes a named credential for an integration tool (POST
// /v1/credentials): an identity of its own, bound to the instance. The
// answer carries the value, this once.
func (c *Client) CreateCredential(ctx context.Context, in CreateCredentialInput) (Credential, error) {
	var out Credential
	err := c.do(ctx, http.MethodPost, "/v1/credentials", nil, in, &out)
	return out, err
}

// ListCredentials returns one page of named credentials, without their
// values (GET /v1/credentials).
func (c *Client) ListCredentials(ctx context.Context, opts ListOptions) (CredentialPage, error) {
	var out CredentialPage
	err := c.do(ctx, http.MethodGet, "/v1/credentials", pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out, err
}

// AllCredentials iterates over every named credential, page after page. It
// stops at the first error, which it yields.
func (c *Client) AllCredentials(ctx context.Context) iter.Seq2[Credential, error] {
	return all(ctx, ListOptions{}, func(ctx context.Context, o ListOptions) ([]Credential, string, error) {
		p, err := c.ListCredentials(ctx, o)
		return p.Credentials, p.NextCursor, err
	})
}

// GetCredential fetches a named credential by ID or by name (GET
// /v1/credentials/{id}): its hint, never its value.
func (c *Client) GetCredential(ctx context.Context, idOrName string) (Credential, error) {
	var out Credential
	if err := needID("credential", idOrName); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, "/v1/credentials/"+pathID(idOrName), nil, nil, &out)
	return out, err
}

// RevealCredential fetches a named credential with its value (POST
// /v1/credentials/{id}/reveal): admins only, recorded in the audit log
// before it is shown.
func (c *Client) RevealCredential(ctx context.Context, idOrName string) (Credential, error) {
	var out Credential
	if err := needID("credential", idOrName); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPost, "/v1/credentials/"+pathID(idOrName)+"/reveal", nil, nil, &out)
	return out, err
}

// RotateCredential gives a named credential a new identity and value (POST
// /v1/credentials/{id}/rotate); the old value stops working at once. The
// answer carries the new value, this once.
func (c *Client) RotateCredential(ctx context.Context, idOrName string) (Credential, error) {
	var out Credential
	if err := needID("credential", idOrName); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPost, "/v1/credentials/"+pathID(idOrName)+"/rotate", nil, nil, &out)
	return out, err
}

// DeleteCredential deletes a named credential (DELETE /v1/credentials/{id}).
func (c *Client) DeleteCredential(ctx context.Context, id string) error {
	if err := needID("credential", id); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/v1/credentials/"+pathID(id), nil, nil, nil)
}
