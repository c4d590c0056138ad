package conformance_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
)

// A store's test runs the whole suite with a factory that returns a fresh,
// empty store (its own key prefix, table or directory) for every rule.
func ExampleTestStore() {
	// In your store's _test.go file:
	testMyStore := func(t *testing.T) {
		conformance.TestStore(t, func(t *testing.T) session.Store {
			return session.NewMemoryStore(nil) // your store here
		}, nil)
	}
	_ = testMyStore
}

// An adapter's test mounts its middleware and one catch-all route per mount,
// and hands the suite's handler the session from its accessor; this one is
// core's own net/http middleware.
func ExampleTestAdapter() {
	// In your adapter's _test.go file:
	testMyAdapter := func(t *testing.T) {
		conformance.TestAdapter(t, func(t *testing.T, ln net.Listener, app *conformance.App) {
			mux := http.NewServeMux()
			for _, mt := range app.Mounts {
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					app.Handler(session.FromRequest(r), conformance.HTTPRequest(r), w)
				})
				mux.Handle(mt.Prefix+"/", mt.Manager.Middleware(mt.Options.Core()...)(h))
			}
			conformance.ServeHTTP(t, ln, mux)
		}, nil)
	}
	_ = testMyAdapter
}
