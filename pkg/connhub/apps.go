package connhub

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
)

// Me says whom the client's credentials belong to (GET /v1/me).
func (c *Client) Me(ctx context.Context) (Me, error) {
	var out Me
	err := c.do(ctx, http.MethodGet, "/v1/me", nil, nil, &out)
	return out, err
}

// Connectors searches the connector catalog (GET /v1/connectors?q=): every
// word of q must match a connector's name, editions, auth methods or
// features; "" lists them all.
func (c *Client) Connectors(ctx context.Context, q string) ([]Connector, error) {
	var out struct {
		Connectors []Connector `json:"connectors"`
	}
	var query url.Values
	if q != "" {
		query = url.Values{"q": {q}}
	}
	err := c.do(ctx, http.MethodGet, "/v1/connectors", query, nil, &out)
	return out.Connectors, err
}

// CreateApp registers a Slack app (POST /v1/apps). Add the answer's
// RedirectURL to the app's Redirect URLs at api.slack.com/apps.
func (c *Client) CreateApp(ctx context.Context, in CreateAppInput) (App, error) {
	var out App
	err := c.do(ctx, http.MethodPost, "/v1/apps", nil, in, &out)
	return out, err
}

// UpdateApp changes a registered app, or rotates its secrets (PATCH
// /v1/apps/{id}): a new client secret is proven at Slack (by refreshing an
// instance's rotating token) before the hub stores it.
func (c *Client) UpdateApp(ctx context.Context, id string, in AppUpdate) (UpdatedApp, error) {
	var out UpdatedApp
	if err := needID("app", id); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPatch, "/v1/apps/"+pathID(id), nil, in, &out)
	return out, err
}

// ListApps returns one page of the registered apps (GET /v1/apps).
func (c *Client) ListApps(ctx context.Context, opts ListOptions) (AppPage, error) {
	var out AppPage
	err := c.do(ctx, http.MethodGet, "/v1/apps", pageQuery(nil, opts.Cursor, opts.Limit), nil, &out)
	return out, err
}

// AllApps iterates over every registered app, page after page. It stops at
// the first error, which it yields.
func (c *Client) AllApps(ctx context.Context) iter.Seq2[App, error] {
	return all(ctx, ListOptions{}, func(ctx context.Context, o ListOptions) ([]App, string, error) {
		p, err := c.ListApps(ctx, o)
		return p.Apps, p.NextCursor, err
	})
}

// GetApp returns a registered app (GET /v1/apps/{id}).
func (c *Client) GetApp(ctx context.Context, id string) (App, error) {
	var out App
	if err := needID("app", id); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, "/v1/apps/"+pathID(id), nil, nil, &out)
	return out, err
}

// DeleteApp deletes a registered app that no instance uses (DELETE
// /v1/apps/{id}).
func (c *Client) DeleteApp(ctx context.Context, id string) error {
	if err := needID("app", id); err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, "/v1/apps/"+pathID(id), nil, nil, nil)
}

func needID(what, id string) error {
	if id == "" {
		return errors.New("connhub: the " + what + " ID is empty")
	}
	return nil
}

// all iterates over every page that list returns, starting at o.
func all[T any](ctx context.Context, o ListOptions, list func(context.Context, ListOptions) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, next, err := list(ctx, o)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" || next == o.Cursor {
				return
			}
			o.Cursor = next
		}
	}
}
