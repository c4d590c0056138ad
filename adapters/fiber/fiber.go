package fibersession

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// contextKey is the fiber locals key of the session.
type contextKey struct{}

// Middleware returns a fiber middleware that gives every request its
// session from m; read it with From in handlers, and with
// session.FromContext of c.UserContext() in code that only has a
// context.Context. See the options for what else it does.
//
// With cookie storage (m has no Store) the app must read request headers
// into at least ReadBufferSize bytes: the middleware checks the
// configuration of the app that serves the request, once per app, and
// fails every request with a session.ErrInvalidConfig error (to the error
// handler: a logged 500 by default) until it does.
func Middleware(m *session.Manager, opts ...Option) fiber.Handler {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	mw := session.NewMiddleware(m, cfg.core...)
	onError := cfg.errorHandler
	if onError == nil {
		onError = func(c *fiber.Ctx, err error) error { return defaultErrorHandler(m, c, err) }
	}
	check := &bufferCheck{cookies: m.Store() == nil}
	return func(c *fiber.Ctx) error {
		if err := check.app(c.App()); err != nil {
			return onError(c, err)
		}
		ex := NewExchange(c)
		scope, err := mw.Begin(ex)
		if err != nil {
			ex.Flush() // what core set before the failure, as on net/http
			return onError(c, err)
		}
		s := scope.Session()
		c.Locals(contextKey{}, s)
		// fiber's user context carries the session too, for service code
		// that takes a context.Context (session.FromContext).
		c.SetUserContext(session.NewContext(c.UserContext(), s))
		err = c.Next()
		ferr := scope.Finish()
		ex.Flush()
		if ferr != nil {
			if herr := onError(c, ferr); err == nil {
				err = herr
			}
		}
		return err
	}
}

// From returns the session Middleware stored in c's locals, or nil when the
// request did not go through it.
func From(c *fiber.Ctx) *session.Session {
	s, _ := c.Locals(contextKey{}).(*session.Session)
	return s
}

// Exchange is core's adapter.Exchange for a fiber request. Middleware uses
// one per request; it is exported for code that drives a session.Manager
// by hand (m.NewSession(fibersession.NewExchange(c))), which must call
// Flush before the handler returns.
type Exchange struct {
	c          *fiber.Ctx
	setCookies []string // the Set-Cookie lines, one per cookie name
	buf        [4]string
}

var _ adapter.Exchange = (*Exchange)(nil)

// NewExchange returns the Exchange of c.
func NewExchange(c *fiber.Ctx) *Exchange {
	ex := &Exchange{c: c}
	ex.setCookies = ex.buf[:0]
	return ex
}

// Context returns c.UserContext(): store calls run under it (from
// Middleware, it carries the request's session once the session is open).
func (e *Exchange) Context() context.Context { return e.c.UserContext() }

// Cookies returns a copy of the request's Cookie header lines, joined with
// "; " (fasthttp reuses the request's memory once it is done; the session
// keeps this string).
func (e *Exchange) Cookies() string {
	lines := e.c.Request().Header.PeekAll(fiber.HeaderCookie)
	switch len(lines) {
	case 0:
		return ""
	case 1:
		return string(lines[0])
	}
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteString("; ")
		}
		b.Write(l)
	}
	return b.String()
}

// UserAgent returns a copy of the request's User-Agent header.
func (e *Exchange) UserAgent() string { return string(e.c.Request().Header.UserAgent()) }

// RemoteAddr returns a copy of c.IP(): the client's address without a port
// (or, with fiber's ProxyHeader and a trusted proxy, the proxy's header).
func (e *Exchange) RemoteAddr() string { return strings.Clone(e.c.IP()) }

// Scheme returns c.Protocol(), "http" or "https" (X-Forwarded-Proto and
// the like only from a trusted proxy, as fiber's configuration says).
func (e *Exchange) Scheme() string { return strings.Clone(e.c.Protocol()) }

// SetCookie keeps line as the Set-Cookie line of the cookie called name,
// replacing (in place) one kept earlier for the same name; Flush copies
// the lines into the response.
func (e *Exchange) SetCookie(name, line string) {
	e.setCookies = adapter.ReplaceSetCookie(e.setCookies, name, line)
}

// SetRequestHeader sets a request header. A Cookie header replaces the
// request's cookies (fasthttp's Set would add to them).
func (e *Exchange) SetRequestHeader(name, value string) {
	h := &e.c.Request().Header
	if strings.EqualFold(name, fiber.HeaderCookie) {
		h.Del(name)
	}
	h.Set(name, value)
}

// DelRequestHeader removes a request header (for Cookie, every cookie).
func (e *Exchange) DelRequestHeader(name string) { e.c.Request().Header.Del(name) }

// SetResponseHeader sets a response header.
func (e *Exchange) SetResponseHeader(name, value string) { e.c.Set(name, value) }

// Flush copies the Set-Cookie lines kept so far into fiber's response,
// each replacing any Set-Cookie of the same name already there (so a
// response never carries two for one cookie), and forgets them. fiber
// sends the response after the handlers returned: Middleware flushes then.
func (e *Exchange) Flush() {
	if len(e.setCookies) == 0 {
		return
	}
	h := &e.c.Response().Header
	for i, line := range e.setCookies {
		name, _, _ := strings.Cut(line, "=")
		h.DelCookie(name)
		h.Add(fiber.HeaderSetCookie, line)
		e.setCookies[i] = ""
	}
	e.setCookies = e.setCookies[:0]
}

// internalError is the default error handler's error: a 500 for fiber's
// ErrorHandler, which sends its Error text (kept generic, so that a store's
// error never reaches the client), wrapping the session's error.
type internalError struct{ err error }

func (e *internalError) Error() string { return fiber.ErrInternalServerError.Message }

func (e *internalError) Unwrap() []error { return []error{fiber.ErrInternalServerError, e.err} }

func defaultErrorHandler(m *session.Manager, c *fiber.Ctx, err error) error {
	m.Logger().Error("session: middleware", "err", err, "method", c.Method(), "path", c.Path())
	return &internalError{err: err}
}
