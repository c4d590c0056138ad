package session

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/sessiongo/session/core/adapter"
)

// Middleware support: one request's session work, shared by the net/http
// middleware below and by the framework adapters.
//
// The session is opened (or started: opened and refreshed) before the
// handler runs and stored in the request's context. The response writer is
// wrapped so that the session's pending work is committed when the response
// headers are about to go out (the first WriteHeader, Write, ReadFrom or
// Flush), or after the handler when it wrote nothing: Set-Cookie lines and
// the configured response headers then always reach the client, even when
// the handler writes its body before it returns. A save after the headers
// went out cannot reach the client; it is reported as ErrHeadersSent.
//
// With AutoSave (WithAutoSave) the commit also saves a session whose data,
// subject, audience or remember setting changed since it was opened or last
// saved, so a handler may change the session and write its body without
// calling Save, as with alexedwards/scs. Without it, Save is explicit, as in
// the reference library.

// MiddlewareOption configures a Middleware.
type MiddlewareOption func(*middlewareOptions)

type middlewareOptions struct {
	openOnly           bool
	headers            bool
	clearRequestCookie bool
	autoSave           bool
	errorHandler       func(w http.ResponseWriter, r *http.Request, err error)
}

// OpenOnly makes the middleware only open the session, without the refresh
// (touch or save as the timeouts near) that it runs by default (Start).
func OpenOnly() MiddlewareOption { return func(o *middlewareOptions) { o.openOnly = true } }

// WithHeaders makes the middleware set Config.RequestHeaders on the request,
// for the handlers (or upstreams) that run after it, and
// Config.ResponseHeaders on the response when it is committed, from the
// session's final state. Nothing is set for a session that does not exist.
func WithHeaders() MiddlewareOption { return func(o *middlewareOptions) { o.headers = true } }

// WithClearRequestCookie makes the middleware remove the session cookie,
// its chunks and the remember cookie from the request's Cookie header once
// the session is open, so that the handlers after it (a reverse proxy) do
// not see or forward them (the reference's clear_request_cookie).
func WithClearRequestCookie() MiddlewareOption {
	return func(o *middlewareOptions) { o.clearRequestCookie = true }
}

// WithAutoSave makes the commit save the session when its data, subject,
// audience or remember setting changed since it was opened or last saved
// (the info store is not watched: save it with Info().Save). A session that
// was destroyed or logged out is not saved again.
func WithAutoSave() MiddlewareOption { return func(o *middlewareOptions) { o.autoSave = true } }

// WithErrorHandler sets the function the net/http middleware calls with an
// error. A request without a usable session is not one (the handler gets a
// new session, as from Manager.Start); the errors are:
//
//   - a failure to open or refresh the session (a store outage), before
//     the handler runs: the handler is not called, and the error handler
//     writes the response;
//   - a failure to commit (an auto-save that failed, ErrHeadersSent), after
//     the handler returned: what the error handler writes is sent only when
//     the handler wrote nothing, and is discarded otherwise.
//
// The default logs the error with the Manager's logger and replies 500
// Internal Server Error where it can.
func WithErrorHandler(fn func(w http.ResponseWriter, r *http.Request, err error)) MiddlewareOption {
	return func(o *middlewareOptions) { o.errorHandler = fn }
}

// Middleware is the per-request session work of a middleware, configured
// once: Handler is the net/http middleware, and Begin lets framework
// adapters run the same work through their own adapter.Exchange. It is
// safe for concurrent use.
type Middleware struct {
	m    *Manager
	opts middlewareOptions
}

// NewMiddleware returns the middleware of m with opts.
func NewMiddleware(m *Manager, opts ...MiddlewareOption) *Middleware {
	mw := &Middleware{m: m}
	for _, o := range opts {
		if o != nil {
			o(&mw.opts)
		}
	}
	return mw
}

// Middleware returns a net/http middleware that gives every request its
// session (FromRequest, FromContext). It is NewMiddleware(m, opts...).Handler.
func (m *Manager) Middleware(opts ...MiddlewareOption) func(http.Handler) http.Handler {
	return NewMiddleware(m, opts...).Handler
}

// Manager returns the middleware's Manager.
func (mw *Middleware) Manager() *Manager { return mw.m }

// Logger returns the Manager's logger (Config.Logger, or slog.Default).
func (m *Manager) Logger() *slog.Logger { return m.logger }

// Scope is a middleware's hold on one request's session: Begin opens it,
// Commit runs just before the response headers go out, Finish after the
// handler (see package adapter for how an adapter calls them). Not safe for
// concurrent use.
type Scope struct {
	mw *Middleware
	ex adapter.Exchange // the adapter's; the session's is scopeExchange
	s  *Session         // &session
	// session is the request's session, held here so that a scope and its
	// session are one allocation.
	session Session

	committed bool
	commitErr error
	lateErr   error

	// AutoSave bookkeeping: the fingerprint of the last persisted state,
	// and a candidate taken when the session cookie was set (a save, or a
	// touch or destroy, told apart afterwards by whether the id changed).
	saved       [32]byte
	candidate   [32]byte
	candidateOK bool
	candidateID [sidSize]byte
}

// Begin opens (or starts) the session of ex as the options say, clears the
// request cookie and sets the request headers when asked. A request
// without a usable session gets a new one and a nil error, as from
// Manager.Start; any other error (ErrStore...) is returned with the scope,
// whose session is usable, and the adapter should report it and not run
// the handler.
func (mw *Middleware) Begin(ex adapter.Exchange) (*Scope, error) {
	sc := &Scope{}
	err := mw.begin(sc, ex)
	return sc, err
}

func (mw *Middleware) begin(sc *Scope, ex adapter.Exchange) error {
	sc.mw, sc.ex = mw, ex
	s := &sc.session
	mw.m.initSession(s, (*scopeExchange)(sc))
	sc.s = s
	var err error
	if mw.opts.openOnly {
		err = s.Open()
	} else {
		err = s.Start()
	}
	if err := openError(err); err != nil {
		return err
	}
	if s.Exists() {
		if mw.opts.clearRequestCookie {
			s.ClearRequestCookie() //nolint:errcheck // the session exists
		}
		if mw.opts.headers {
			s.SetRequestHeaders() //nolint:errcheck // the session exists
		}
	}
	if mw.opts.autoSave {
		sc.saved, _ = s.fingerprint()
		sc.candidateOK = false
	}
	return nil
}

// Session returns the request's session.
func (sc *Scope) Session() *Session { return sc.s }

// Commit does the session's pending work before the response headers go
// out: the auto-save and the response headers, as configured. Only the
// first call does anything; its error is kept for Finish. Adapters call it
// from their writer wrapper or before-response hook.
func (sc *Scope) Commit() {
	if sc.committed {
		return
	}
	s := sc.s
	if sc.mw.opts.autoSave && !s.Closed() && sc.changed() {
		if err := s.Save(); err != nil {
			sc.commitErr = err
		}
	}
	if sc.mw.opts.headers && s.Exists() {
		s.SetResponseHeaders() //nolint:errcheck // the session exists
	}
	sc.committed = true
}

// Finish ends the request's session work after the handler returned: it
// commits when nothing did yet, and returns what went wrong since Begin (a
// failed auto-save, or ErrHeadersSent for a cookie set too late), nil
// otherwise.
func (sc *Scope) Finish() error {
	sc.Commit()
	return errors.Join(sc.commitErr, sc.lateErr)
}

// changed reports whether the session differs from what was last saved.
func (sc *Scope) changed() bool {
	sc.settle()
	now, ok := sc.s.fingerprint()
	return !ok || now != sc.saved
}

// settle turns the candidate taken at the last session Set-Cookie into the
// persisted state when that Set-Cookie came from a save (the id changed).
func (sc *Scope) settle() {
	if !sc.candidateOK {
		return
	}
	sc.candidateOK = false
	if md := &sc.s.meta; md.valid && md.sid != sc.candidateID {
		sc.saved = sc.candidate
	}
}

// fingerprint hashes what a save would persist of the entries and flags.
// ok is false when the data cannot be encoded: the session then counts as
// changed, so that the save runs and reports the error.
func (s *Session) fingerprint() (sum [32]byte, ok bool) {
	b := getBuf()
	defer putBuf(b)
	if err := encodeEntries(b, s.entries); err != nil {
		return sum, false
	}
	remember := byte(0)
	if s.remember {
		remember = 1
	}
	b.Write([]byte{byte(s.cur), byte(s.cur >> 8), byte(s.flags), byte(s.flags >> 8), remember})
	return sha256.Sum256(b.Bytes()), true
}

// scopeExchange is the Exchange of a scope's session: it wraps the
// adapter's, so that the scope sees every cookie the session sets. It is
// the Scope itself under another method set, so it costs no allocation.
type scopeExchange Scope

// Context returns the adapter's request context.
func (x *scopeExchange) Context() context.Context { return x.ex.Context() }

// Cookies returns the request's Cookie header.
func (x *scopeExchange) Cookies() string { return x.ex.Cookies() }

// UserAgent returns the request's User-Agent header.
func (x *scopeExchange) UserAgent() string { return x.ex.UserAgent() }

// RemoteAddr returns the client's IP address.
func (x *scopeExchange) RemoteAddr() string { return x.ex.RemoteAddr() }

// Scheme returns the request's scheme.
func (x *scopeExchange) Scheme() string { return x.ex.Scheme() }

// SetCookie passes the line to the adapter's Exchange, noting a save of the
// session cookie for AutoSave and a cookie set after the commit as
// ErrHeadersSent.
func (x *scopeExchange) SetCookie(name, line string) {
	sc := (*Scope)(x)
	if sc.committed && sc.lateErr == nil {
		sc.lateErr = &Error{Kind: ErrHeadersSent, Msg: "unable to send session cookie " + name + " after the response headers"}
	}
	if sc.mw.opts.autoSave && sc.s != nil && name == sc.mw.m.cookieName {
		sc.settle()
		sc.candidate, sc.candidateOK = sc.s.fingerprint()
		sc.candidateID = sc.s.meta.sid
	}
	sc.ex.SetCookie(name, line)
}

// SetRequestHeader sets a request header through the adapter's Exchange.
func (x *scopeExchange) SetRequestHeader(name, value string) { x.ex.SetRequestHeader(name, value) }

// DelRequestHeader removes a request header through the adapter's Exchange.
func (x *scopeExchange) DelRequestHeader(name string) { x.ex.DelRequestHeader(name) }

// SetResponseHeader sets a response header through the adapter's Exchange.
func (x *scopeExchange) SetResponseHeader(name, value string) { x.ex.SetResponseHeader(name, value) }

// contextKey is the context key of the session, shared with adapters whose
// framework context reads its own values (adapter.ContextKey).
type contextKey = adapter.ContextKey

// NewContext returns a copy of ctx that carries s; FromContext returns it.
func NewContext(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, contextKey{}, s)
}

// FromContext returns the session that the middleware stored in ctx, or
// nil when there is none.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(contextKey{}).(*Session)
	return s
}

// FromRequest returns the session of a request that went through the
// middleware, or nil.
func FromRequest(r *http.Request) *Session { return FromContext(r.Context()) }

// Handler wraps next: every request gets its session (FromRequest), and the
// response writer commits the session's pending work before the headers go
// out. The wrapped writer keeps http.ResponseController working (Flush,
// deadlines, Hijack through Unwrap).
func (mw *Middleware) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &httpScope{ex: adapter.HTTP{W: w, R: r}}
		if err := mw.begin(&st.sc, &st.ex); err != nil {
			mw.handleError(w, r, err)
			return
		}
		st.w = responseWriter{ResponseWriter: w, sc: &st.sc}
		st.ctx = sessionContext{Context: r.Context(), s: st.sc.s}
		r = r.WithContext(&st.ctx)
		next.ServeHTTP(&st.w, r)
		if err := st.sc.Finish(); err != nil {
			st.w.finished = true
			mw.handleError(&st.w, r, err)
		}
	})
}

// httpScope holds everything the net/http middleware needs per request, in
// one allocation (the session too: it is part of the Scope).
type httpScope struct {
	sc  Scope
	ex  adapter.HTTP
	w   responseWriter
	ctx sessionContext
}

// sessionContext is the request context the net/http middleware gives the
// handler: the request's context with the session as the value of
// contextKey{}, as NewContext makes it, without an allocation of its own.
type sessionContext struct {
	context.Context
	s *Session
}

// Value returns the session for contextKey{}, and the parent's value of
// any other key.
func (c *sessionContext) Value(key any) any {
	if _, ok := key.(contextKey); ok {
		return c.s
	}
	return c.Context.Value(key)
}

// String names the context as context.WithValue's do.
func (c *sessionContext) String() string {
	return contextName(c.Context) + ".WithValue(session)"
}

// contextName is the String of a context, or its type's name.
func contextName(c context.Context) string {
	if s, ok := c.(interface{ String() string }); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", c)
}

func (mw *Middleware) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if mw.opts.errorHandler != nil {
		mw.opts.errorHandler(w, r, err)
		return
	}
	mw.m.logger.ErrorContext(r.Context(), "session: middleware", "err", err, "method", r.Method, "path", r.URL.Path)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// responseWriter commits the session's pending work before the response
// headers go out. After Finish (finished), an error handler's response is
// discarded when the handler had already started its own.
type responseWriter struct {
	http.ResponseWriter
	sc       *Scope // Commit runs before the headers go out
	started  bool   // a final status line was written
	finished bool   // the handler returned
}

func (w *responseWriter) start() {
	if !w.started {
		w.sc.Commit()
		w.started = true
	}
}

// discard reports whether a write comes from the error handler after the
// handler's own response started.
func (w *responseWriter) discard() bool { return w.finished && w.started }

// WriteHeader commits, then writes the status line. Informational (1xx)
// statuses other than 101 do not commit: the final response follows.
func (w *responseWriter) WriteHeader(code int) {
	if w.discard() {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.start()
	w.ResponseWriter.WriteHeader(code)
}

// Write commits, then writes p.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.discard() {
		return len(p), nil
	}
	w.start()
	return w.ResponseWriter.Write(p)
}

// ReadFrom commits, then copies from r, keeping the underlying writer's
// io.ReaderFrom (sendfile) when it has one.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.discard() {
		return io.Copy(io.Discard, r)
	}
	w.start()
	return io.Copy(w.ResponseWriter, r)
}

// Flush commits, then flushes the underlying writer.
func (w *responseWriter) Flush() { w.FlushError() } //nolint:errcheck // http.Flusher has no error

// FlushError commits, then flushes the underlying writer through
// http.ResponseController.
func (w *responseWriter) FlushError() error {
	w.start()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over through http.ResponseController; the
// session's pending work is committed to the header first, though a
// hijacked connection sends only what its new owner writes.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.start()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
