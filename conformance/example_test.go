package conformance_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
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
			st, err := session.NewMemoryStore() // your store here
			if err != nil {
				t.Fatal(err)
			}
			return st
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

// An adapter's error handler is tested with a session cookie saved before
// the store goes down: opening that session then fails. The client checks
// every response's Set-Cookie lines as TestAdapter does. This one tests
// core's own net/http middleware; put your framework's router in its place.
func ExampleSessionCookie() {
	// In your adapter's _test.go file:
	testErrorHandler := func(t *testing.T) {
		st, err := session.NewMemoryStore()
		if err != nil {
			t.Fatal(err)
		}
		faulty := conformance.NewFaultyStore(st)
		m, err := session.New(session.Config{Secret: "a long random secret", Store: faulty})
		if err != nil {
			t.Fatal(err)
		}
		cookie := conformance.SessionCookie(t, m, map[string]any{"user": "alice"})
		faulty.FailAll(errors.New("connection refused"))

		h := m.Middleware(session.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "sessions are down", http.StatusServiceUnavailable)
		}))(http.NotFoundHandler())
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, err := http.NewRequest("GET", srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", cookie)
		resp, err := conformance.NewClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503 from the error handler", resp.StatusCode)
		}
	}
	_ = testErrorHandler
}
