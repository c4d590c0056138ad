package chisession

import (
	"context"
	"net/http"

	session "github.com/sessiongo/session/core"
)

// Middleware returns a chi middleware (func(http.Handler) http.Handler)
// that gives every request its session from m; read it with From. See the
// options for what else it does.
func Middleware(m *session.Manager, opts ...Option) func(http.Handler) http.Handler {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return session.NewMiddleware(m, c.core...).Handler
}

// From returns the session of a request that went through Middleware, or
// nil when it did not.
func From(r *http.Request) *session.Session { return session.FromRequest(r) }

// FromContext returns the session stored in a request's context by
// Middleware, or nil.
func FromContext(ctx context.Context) *session.Session { return session.FromContext(ctx) }
