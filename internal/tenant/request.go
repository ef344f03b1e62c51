package tenant

import (
	"context"
	"net"
	"net/http"
)

// Request is where a request came from: for the audit events it causes and
// the logs it leaves.
type Request struct {
	ID       string // the X-Request-Id
	SourceIP string
}

type requestKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestOf is the request ctx carries; zero outside one.
func RequestOf(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	return r
}

// RequestID is the ID of the request ctx carries, or "".
func RequestID(ctx context.Context) string { return RequestOf(ctx).ID }

// SourceIP is the address a request came from: the peer's, without the
// port. What a proxy in front of connhub writes (X-Forwarded-For) is not
// trusted: a client can write anything there.
func SourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
