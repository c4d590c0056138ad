package conformance_test

import (
	"net"
	"net/http"
	"testing"

	session "github.com/sessiongo/session/core"

	"github.com/sessiongo/session/conformance"
)

// serveCore serves the app with core's own net/http middleware: the
// reference implementation of the adapter contract.
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

func TestAdapterNetHTTP(t *testing.T) {
	conformance.TestAdapter(t, serveCore, &conformance.AdapterOptions{
		NewStore: func(t *testing.T) session.Store {
			st, err := session.NewMemoryStore()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(st.Stop)
			return st
		},
	})
}
