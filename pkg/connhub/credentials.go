package connhub

import (
	"context"
	"iter"
	"net/http"
)

// CreateCredential stores an instance's credentials under a name (POST
// /v1/credentials). The answer does not carry the value: GetCredential
// fetches it.
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

// GetCredential fetches a named credential with its value, by ID or by name
// (GET /v1/credentials/{id}). The hub records it in the audit log.
func (c *Client) GetCredential(ctx context.Context, idOrName string) (Credential, error) {
	var out Credential
	if err := needID("credential", idOrName); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, "/v1/credentials/"+pathID(idOrName), nil, nil, &out)
	return out, err
}

// DeleteCredential deletes a named credential (DELETE /v1/credentials/{id}).
func (c *Client) DeleteCredential(ctx context.Context, id string) error {
	if err := needID("credential", id); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/v1/credentials/"+pathID(id), nil, nil, nil)
}
