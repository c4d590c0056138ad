package conformance

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	session "github.com/sessiongo/session/core"
)

// ServeFunc serves app on ln until the test ends (see the contract above).
// It is called once per subtest, possibly from parallel subtests.
type ServeFunc func(t *testing.T, ln net.Listener, app *App)

// App is what an adapter's ServeFunc serves: one or more mounts of the
// adapter's middleware, and the suite's handler behind all of them.
type App struct {
	// Mounts are the middleware mounts, each on its own path prefix. Two
	// mounts whose Managers share a cookie but not an audience test the
	// logout of one audience.
	Mounts []Mount
	// Handler is the suite's behaviour; the adapter calls it from its
	// catch-all route with the session from its accessor.
	Handler Handler
}

// Mount is one use of the adapter's middleware.
type Mount struct {
	// Prefix is the path prefix the mount serves, such as "/a": every path
	// below it ("/a/state", "/a/save") goes through the middleware to the
	// handler. It has no trailing slash.
	Prefix string
	// Manager is the Manager the middleware uses.
	Manager *session.Manager
	// Options are the middleware options of the mount.
	Options MiddlewareOptions
}

// MiddlewareOptions are the middleware settings the suite asks for, in
// framework-neutral form; each adapter maps them to its own options. The
// zero value is the default middleware: start (open and refresh) the
// session, no headers, no cookie clearing, explicit saves.
type MiddlewareOptions struct {
	// OpenOnly opens the session without refreshing it.
	OpenOnly bool
	// SetHeaders sets the configured request headers before the handler and
	// the response headers before the response goes out.
	SetHeaders bool
	// ClearRequestCookie removes the session cookies from the request the
	// handler sees.
	ClearRequestCookie bool
	// AutoSave saves a changed session before the response headers go out.
	AutoSave bool
}

// Core returns o as core's middleware options, for adapters that take them
// as they are.
func (o MiddlewareOptions) Core() []session.MiddlewareOption {
	var opts []session.MiddlewareOption
	if o.OpenOnly {
		opts = append(opts, session.OpenOnly())
	}
	if o.SetHeaders {
		opts = append(opts, session.WithHeaders())
	}
	if o.ClearRequestCookie {
		opts = append(opts, session.WithClearRequestCookie())
	}
	if o.AutoSave {
		opts = append(opts, session.WithAutoSave())
	}
	return opts
}

// Handler is the suite's request handler. s is the session the adapter's
// accessor returned (nil is a failure the suite reports), r the request as
// the framework's handler sees it, and w writes the response through the
// framework.
type Handler func(s *session.Session, r *Request, w http.ResponseWriter)

// Request is a request as a framework's handler sees it, after the session
// middleware ran (so with its request headers set and, with
// ClearRequestCookie, its session cookies removed).
type Request struct {
	Method string
	// Path is the request's path, with the mount's prefix.
	Path string
	// Query is the parsed query string.
	Query url.Values
	// Header holds the request headers, including Cookie.
	Header http.Header
	// Context is the request's context.Context as the framework hands it
	// to the handler, the one an application passes on to its service
	// code: r.Context() on net/http and chi (HTTPRequest sets it),
	// c.Request.Context() on gin, c.Request().Context() on echo,
	// c.UserContext() on fiber. The suite checks that
	// session.FromContext(Context) returns the request's session; nil is a
	// failure the suite reports.
	Context context.Context
}

// HTTPRequest describes a net/http request for the suite's Handler, with
// r.Context() as its Context.
func HTTPRequest(r *http.Request) *Request {
	return &Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header, Context: r.Context()}
}

// ServeHTTP serves h on ln with net/http until the test ends, for adapters
// whose framework is a net/http handler.
func ServeHTTP(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h, MaxHeaderBytes: 1 << 20}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) //nolint:errcheck // ErrServerClosed at cleanup
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
}

// AdapterOptions tunes TestAdapter; nil means the defaults.
type AdapterOptions struct {
	// NewStore, when set, makes the suite run every behaviour a second time
	// with a server-side store from it (a fresh, empty store per call), in
	// addition to cookie storage.
	NewStore func(t *testing.T) session.Store
}

// TestAdapter runs the adapter suite against the adapter behind serve:
// the same HTTP-level behaviours for every framework adapter, through a
// real HTTPS server on loopback and a real client with a cookie jar
// (net/http/cookiejar). HTTPS, because session cookies are Secure by
// default and a cookie jar, like a browser, sends them over https only: the
// suite wraps the listener it hands to serve in TLS (a throwaway
// self-signed certificate its client trusts). Each behaviour is a subtest with its own Managers
// (on an injected clock, so that no test sleeps), its own server and its
// own cookie jar; failures name the behaviour the adapter breaks. Every
// response is also checked for two Set-Cookie lines for one cookie and for
// session cookies that core did not format (CheckSetCookies). opts may be
// nil.
//
// The behaviours: a new session, save and open, touch, the refresh that
// saves near the rolling timeout, OpenOnly, idle expiry, a save before the
// body (AutoSave) and a late save after it, logout of one of two audiences
// sharing a cookie, destroy, remember-me restore after the session cookie
// is gone, chunked cookies, ClearRequestCookie seen by the handler, request
// and response headers, tampered cookies, concurrent requests with one
// cookie, a store failure hidden from the client, and the session reached
// from service code through the request's context (session.FromContext).
//
// The contract between the suite and an adapter's test is small. For each
// subtest the suite builds an App (its Managers, the middleware options of
// each mount and a framework-neutral Handler) and a loopback listener, and
// calls the adapter's ServeFunc, which must:
//
//  1. for each Mount, route every method and every path under Mount.Prefix
//     (for example "/a/state") through the adapter's session middleware,
//     built from Mount.Manager with the options that Mount.Options asks for
//     (see MiddlewareOptions), to one catch-all handler;
//  2. in that handler, get the session through the adapter's own accessor
//     (ginsession.From(c), chisession.From(r), ...), describe the request as
//     the framework's handler sees it (Request: method, path, query and
//     headers, after the middleware ran) and call App.Handler with an
//     http.ResponseWriter that writes through the framework (for example
//     gin's c.Writer, echo's c.Response(), or a small shim over fiber's
//     context), so that the framework's own response path is exercised.
//     Request.Context is the context.Context the framework gives handlers
//     to pass on to service code (c.Request.Context() on gin,
//     c.UserContext() on fiber): session.FromContext must find the
//     request's session in it, so the middleware stores it there with
//     session.NewContext;
//  3. serve on ln until the test ends, stopping the server with t.Cleanup.
//     ln already speaks TLS: serve it as a plain listener (Serve, not
//     ServeTLS), and the framework sees https requests.
//     The server must accept request headers of at least 48 KiB (nine
//     4096-byte cookies: chunked sessions).
//
// Net/http-based adapters can use ServeHTTP and HTTPRequest; call
// HTTPRequest with the request the handler gets (gin's c.Request, echo's
// c.Request()), whose context the middleware replaced. A full adapter test
// for core's own middleware looks like this:
//
//	func TestAdapter(t *testing.T) {
//		conformance.TestAdapter(t, func(t *testing.T, ln net.Listener, app *conformance.App) {
//			mux := http.NewServeMux()
//			for _, mt := range app.Mounts {
//				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//					app.Handler(session.FromRequest(r), conformance.HTTPRequest(r), w)
//				})
//				mux.Handle(mt.Prefix+"/", mt.Manager.Middleware(mt.Options.Core()...)(h))
//			}
//			conformance.ServeHTTP(t, ln, mux)
//		}, nil)
//	}
func TestAdapter(t *testing.T, serve ServeFunc, opts *AdapterOptions) {
	if opts == nil {
		opts = &AdapterOptions{}
	}
	storages := []struct {
		name     string
		newStore func(t *testing.T) session.Store
	}{{"cookie", nil}}
	if opts.NewStore != nil {
		storages = append(storages, struct {
			name     string
			newStore func(t *testing.T) session.Store
		}{"store", opts.NewStore})
	}
	for _, st := range storages {
		t.Run(st.name, func(t *testing.T) {
			for _, b := range adapterBehaviours {
				t.Run(b.name, func(t *testing.T) {
					t.Parallel()
					b.run(&suite{t: t, serve: serve, newStore: st.newStore})
				})
			}
		})
	}
}

// lastSegment returns the last element of a path: the suite's operation.
func lastSegment(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
