// Package adapter is what a framework adapter of sessiongo needs from the
// session library, kept out of the user's godoc as net/http keeps httptest
// and httputil aside: the Exchange a session reads its request through and
// writes its response through, the Exchange of net/http (HTTP), and two
// helpers (ReplaceSetCookie, ClientIP) so that every adapter behaves alike.
//
//	import "github.com/sessiongo/session/core/adapter"
//
// Users of net/http, chi, gin, echo or fiber do not need it: the session
// package's middleware and the adapters under adapters/ use it for them.
// Code that drives a Manager by hand on any Exchange does:
// m.NewSession(adapter.NewHTTP(w, r)).
//
// # Writing an adapter
//
// An adapter is a thin middleware over the session package's
// session.Middleware, which does all the session work: it opens (or
// starts) the session, and commits its pending work (WithAutoSave,
// WithHeaders) before the response headers go out. The adapter only
// connects it to its framework, in four steps per request:
//
//  1. Begin. Build an Exchange for the request: HTTP when the framework
//     hands out a net/http request and response writer (gin, echo), or a
//     type of your own over the framework's request and response (fiber's
//     fibersession.Exchange); it deals in raw strings only. Call
//     mw.Begin(ex), mw being session.NewMiddleware(m, opts...) made once
//     when the middleware is built. A non-nil error (a store outage) means
//     the handler must not run: report it through the adapter's error
//     handler, which writes the response.
//  2. Store the session. Put scope.Session() where the framework's
//     handlers find it (gin's c.Set, echo's c.Set, fiber's c.Locals, read
//     back by the adapter's From accessor), and in the request's
//     context.Context with session.NewContext, so that service code reads
//     it with session.FromContext. Where the framework's context is itself
//     a context.Context reading the framework's own values (Fiber v3's
//     fiber.Ctx reads c.Locals), store it there under ContextKey{}.
//  3. Commit before the headers. Call scope.Commit just before the
//     framework writes the response headers: from a wrapper of its response
//     writer (the first WriteHeader, Write or Flush) or from a
//     before-response hook. Only the first call does anything. A framework
//     that sends its response after the handlers return (fiber) can commit
//     then.
//  4. Finish after the handler. Call scope.Finish once the handler
//     returned: it commits when nothing did yet, and returns what went wrong
//     since Begin (a failed auto-save, session.ErrHeadersSent for a cookie
//     set after the headers went out), which the adapter reports through
//     its error handler.
//
// Never format a cookie or pick a default: the session library formats
// every Set-Cookie line and hands it to Exchange.SetCookie, so that every
// framework sends the same bytes. An adapter that keeps Set-Cookie lines
// itself replaces a line for the same cookie name with ReplaceSetCookie.
//
// The adapters in the repository (adapters/gin, adapters/echo and
// adapters/echov5, adapters/fiber and adapters/fiberv3, adapters/chi) are
// complete examples, each a few dozen lines. Test an adapter with conformance.TestAdapter, which runs the same
// HTTP behaviours against every framework (new sessions, saves, refreshes,
// logout, remember-me, chunked cookies, headers, a store outage...), and
// check its own response paths with conformance.CheckSetCookies.
package adapter
