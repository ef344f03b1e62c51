package connhub

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// CreateInstance makes a connector instance (POST /v1/instances) in one of
// the three ways CreateInstanceInput describes. The answer carries the
// instance token, shown this once (InstanceToken shows it again to admins),
// and for an OAuth install the authorize URL.
func (c *Client) CreateInstance(ctx context.Context, in CreateInstanceInput) (CreatedInstance, error) {
	var out CreatedInstance
	err := c.do(ctx, http.MethodPost, "/v1/instances", nil, in, &out)
	return out, err
}

// ListInstances returns one page of instances (GET /v1/instances), filtered
// by connector, status and tag.
func (c *Client) ListInstances(ctx context.Context, opts ListInstancesOptions) (InstancePage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"connector": opts.Connector, "status": opts.Status, "tag": opts.Tag} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out InstancePage
	err := c.do(ctx, http.MethodGet, "/v1/instances", pageQuery(q, opts.Cursor, opts.Limit), nil, &out)
	return out, err
}

// AllInstances iterates over every instance that opts' filters select,
// page after page from opts.Cursor. It stops at the first error, which it
// yields.
func (c *Client) AllInstances(ctx context.Context, opts ListInstancesOptions) iter.Seq2[Instance, error] {
	return all(ctx, opts.ListOptions, func(ctx context.Context, o ListOptions) ([]Instance, string, error) {
		opts.ListOptions = o
		p, err := c.ListInstances(ctx, opts)
		return p.Instances, p.NextCursor, err
	})
}

// GetInstance returns an instance (GET /v1/instances/{id}).
func (c *Client) GetInstance(ctx context.Context, id string) (Instance, error) {
	var out Instance
	if err := needID("instance", id); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, "/v1/instances/"+pathID(id), nil, nil, &out)
	return out, err
}

// UpdateInstance changes an instance's name, tags and settings without
// re-authenticating it (PATCH /v1/instances/{id}).
func (c *Client) UpdateInstance(ctx context.Context, id string, u InstanceUpdate) (Instance, error) {
	var out Instance
	if err := needID("instance", id); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodPatch, "/v1/instances/"+pathID(id), nil, u, &out)
	return out, err
}

// Reauthenticate starts a new install for an instance (POST
// /v1/instances/{id}/reauthenticate): a person opens the answer's
// AuthorizeURL and allows the app again; the instance keeps its ID and
// instance token and gets new Slack tokens. team preselects a workspace or
// org at Slack ("" for the one the instance is installed in).
func (c *Client) Reauthenticate(ctx context.Context, id, team string) (Reauthentication, error) {
	var out Reauthentication
	if err := needID("instance", id); err != nil {
		return out, err
	}
	var q url.Values
	if team != "" {
		q = url.Values{"team": {team}}
	}
	err := c.do(ctx, http.MethodPost, "/v1/instances/"+pathID(id)+"/reauthenticate", q, nil, &out)
	return out, err
}

// InstanceToken reveals an instance's instance token (GET
// /v1/instances/{id}/token). Admins only; the hub records it in the audit log.
func (c *Client) InstanceToken(ctx context.Context, id string) (string, error) {
	return c.token(ctx, http.MethodGet, id, "/token")
}

// RotateInstanceToken gives an instance a new instance token and returns
// it (POST /v1/instances/{id}/token/rotate); the old one stops working at
// once.
func (c *Client) RotateInstanceToken(ctx context.Context, id string) (string, error) {
	return c.token(ctx, http.MethodPost, id, "/token/rotate")
}

func (c *Client) token(ctx context.Context, method, id, suffix string) (string, error) {
	if err := needID("instance", id); err != nil {
		return "", err
	}
	var out struct {
		InstanceToken string `json:"instance_token"`
	}
	err := c.do(ctx, method, "/v1/instances/"+pathID(id)+suffix, nil, nil, &out)
	return out.InstanceToken, err
}

// Ping tests an instance with Slack's auth.test (GET
// /v1/instances/{id}/ping). Slack's refusals come back as an *Error with
// status 502 and code slack_<Slack's code>.
func (c *Client) Ping(ctx context.Context, id string) (PingResult, error) {
	var out PingResult
	if err := needID("instance", id); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, "/v1/instances/"+pathID(id)+"/ping", nil, nil, &out)
	return out, err
}

// InstanceCredentials returns the ready Authorization header values for
// integration tools (GET /v1/instances/{id}/credentials). Admins only; the
// hub records it in the audit log.
func (c *Client) InstanceCredentials(ctx context.Context, id string) (InstanceCredentials, error) {
	var out InstanceCredentials
	if err := needID("instance", id); err != nil {
		return out, err
	}
	err := c.do(ctx, http.MethodGet, "/v1/instances/"+pathID(id)+"/credentials", nil, nil, &out)
	return out, err
}

// DeleteInstance deletes an instance for good (DELETE /v1/instances/{id}):
// the hub revokes its tokens at Slack, then deletes it and everything it
// holds. If Slack cannot be reached the instance is kept, unless force is
// set.
func (c *Client) DeleteInstance(ctx context.Context, id string, force bool) error {
	_, err := c.Delete(ctx, id, DeleteOptions{Force: force})
	return err
}

// DeleteOptions say how far a delete goes.
type DeleteOptions struct {
	Force        bool // delete even if Slack cannot be reached to revoke the tokens
	RevokeShared bool // revoke at Slack the tokens other instances hold too
}

// SharedToken is a Slack token other instances hold too.
type SharedToken struct {
	Token      string   `json:"token"` // "bot" or "user"
	SharedWith []string `json:"shared_with"`
}

// Deletion is what a delete did at Slack.
type Deletion struct {
	ID       string        `json:"id"`
	Revoked  []string      `json:"revoked"`  // the kinds of token revoked at Slack
	Kept     []SharedToken `json:"kept"`     // left valid: other instances hold them
	Affected []string      `json:"affected"` // instances that lost their tokens (RevokeShared)
}

// Delete deletes an instance for good (DELETE /v1/instances/{id}) and says
// what it did at Slack: the tokens it revoked, and those it left valid
// because other instances hold them.
func (c *Client) Delete(ctx context.Context, id string, o DeleteOptions) (Deletion, error) {
	var out Deletion
	if err := needID("instance", id); err != nil {
		return out, err
	}
	q := url.Values{}
	if o.Force {
		q.Set("force", "true")
	}
	if o.RevokeShared {
		q.Set("revoke_shared", "true")
	}
	err := c.do(ctx, http.MethodDelete, "/v1/instances/"+pathID(id), q, nil, &out)
	return out, err
}

// StatusError says an instance that was waited for did not become active.
type StatusError struct {
	Instance Instance
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("connhub: instance %s is %s", e.Instance.ID, e.Instance.Status)
	if e.Instance.StatusReason != "" {
		msg += ": " + e.Instance.StatusReason
	}
	return msg
}

// WaitActive polls an instance every interval (a second if interval is not
// positive) until it leaves pending, which happens when the person at
// Slack's consent page allows or cancels, or the install fails. It returns
// the instance, and a *StatusError when it is not active then. It gives up
// when ctx is done, returning ctx's error and the instance as last seen.
func (c *Client) WaitActive(ctx context.Context, id string, interval time.Duration) (Instance, error) {
	return c.poll(ctx, id, interval, func(in Instance) bool { return in.Status != StatusPending })
}

// WaitUpdated polls an instance every interval until its Version is past
// version, as after a re-authentication completes at Slack (pass the
// Version of Reauthenticate's Instance). It returns the instance, and a
// *StatusError when it is not active then. A background token refresh also
// moves the version; the instance is active then too. It gives up when ctx
// is done, returning ctx's error.
func (c *Client) WaitUpdated(ctx context.Context, id string, version int64, interval time.Duration) (Instance, error) {
	return c.poll(ctx, id, interval, func(in Instance) bool { return in.Version > version })
}

func (c *Client) poll(ctx context.Context, id string, interval time.Duration, done func(Instance) bool) (Instance, error) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last Instance
	for {
		in, err := c.GetInstance(ctx, id)
		switch {
		case err != nil && ctx.Err() != nil:
			return last, ctx.Err()
		case err != nil:
			return last, err
		}
		last = in
		switch {
		case done(in) && in.Status == StatusActive:
			return in, nil
		case done(in):
			return in, &StatusError{Instance: in}
		}
		select {
		case <-ctx.Done():
			return in, ctx.Err()
		case <-t.C:
		}
	}
}
