package httpapi

import (
	"fmt"

	"github.com/danielgtaylor/huma/v2"

	"github.com/connhub/connhub/internal/authz"
)

// ActionExtension names, on each operation of the OpenAPI document, the
// policy's action that decides who may call it (internal/authz), or
// "public" for the few that take no credentials.
const ActionExtension = "x-connhub-action"

// Public is the ActionExtension of an operation that takes no credentials.
const Public = "public"

// guarded declares the action an operation does: the service it calls asks
// the policy about that action, and the document shows it. An operation
// without one stops the API from being built (checkPolicy).
func guarded(a authz.Action, o huma.Operation) huma.Operation {
	if _, ok := authz.Policy[a]; !ok {
		panic(fmt.Sprintf("httpapi: operation %s names the action %s, which has no policy", o.OperationID, a))
	}
	return withAction(o, string(a))
}

// unguarded declares an operation that takes no credentials.
func unguarded(o huma.Operation) huma.Operation { return withAction(o, Public) }

func withAction(o huma.Operation, a string) huma.Operation {
	if o.Extensions == nil {
		o.Extensions = map[string]any{}
	}
	o.Extensions[ActionExtension] = a
	return o
}

// checkPolicy fails when an operation of the document declares no action:
// a route nobody decided about is a route nobody may call.
func checkPolicy(doc *huma.OpenAPI) {
	for path, item := range doc.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Options, item.Head, item.Patch, item.Trace} {
			if op == nil {
				continue
			}
			if _, ok := op.Extensions[ActionExtension]; !ok {
				panic(fmt.Sprintf("httpapi: %s %s declares no policy action (wrap it in guarded or public)", op.Method, path))
			}
		}
	}
}
