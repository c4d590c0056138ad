package redisstore_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
)

// TestConformance runs the store suite against the single Redis (saving as
// on Redis 7, and as before it), the Sentinel master (through a failover
// client) and the Redis Cluster.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, m := range saveModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			conformance.TestStore(t, func(t *testing.T) session.Store {
				s, _ := newStore(t, m)
				return s
			}, &conformance.StoreOptions{Wait: time.Sleep})
		})
	}
}

// TestAdapter runs the adapter suite over core's own net/http middleware
// with the sessions kept in Redis (and, as the suite always does, in
// cookies): whole session life cycles through core and an adapter.
func TestAdapter(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			conformance.TestAdapter(t, serveCore, &conformance.AdapterOptions{
				NewStore: func(t *testing.T) session.Store {
					s, _ := newStore(t, m)
					return s
				},
			})
		})
	}
}

// serveCore serves the suite's app with core's net/http middleware.
func serveCore(t *testing.T, ln net.Listener, app *conformance.App) {
	mux := http.NewServeMux()
	for _, mt := range app.Mounts {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			app.Handler(session.FromRequest(r), conformance.HTTPRequest(r), w)
		})
		mux.Handle(mt.Prefix+"/", mt.Manager.Middleware(mt.Options.Core()...)(h))
	}
	conformance.ServeHTTP(t, ln, mux)
}
