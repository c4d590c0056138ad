package echosession

import (
	"github.com/labstack/echo/v5"
	session "github.com/sessiongo/session/core"
)

// Option configures Middleware.
type Option func(*config)

type config struct {
	core         []session.MiddlewareOption
	errorHandler func(c *echo.Context, err error) error
}

func coreOption(o session.MiddlewareOption) Option {
	return func(c *config) { c.core = append(c.core, o) }
}

// OpenOnly makes the middleware only open the session, without the refresh
// (a touch, or a save as the rolling timeout nears) it runs by default.
func OpenOnly() Option { return coreOption(session.OpenOnly()) }

// WithHeaders sets the session's properties listed in
// session.Config.RequestHeaders on the request, for the handlers after the
// middleware, and those in session.Config.ResponseHeaders on the response
// just before it goes out (Session-Id, Session-Timeout, ...).
func WithHeaders() Option { return coreOption(session.WithHeaders()) }

// WithClearRequestCookie removes the session and remember cookies from the
// request once the session is open, so that handlers after the middleware
// (a reverse proxy) neither see nor forward them.
func WithClearRequestCookie() Option { return coreOption(session.WithClearRequestCookie()) }

// WithAutoSave saves a session whose data, subject, audience or remember
// setting changed, just before the response headers go out; handlers then
// need not call Save.
func WithAutoSave() Option { return coreOption(session.WithAutoSave()) }

// WithErrorHandler sets the handler of errors other than an unusable cookie
// (which just gives a new session); the middleware returns what fn returns,
// so a non-nil error goes on to echo's HTTPErrorHandler. It is called when
// the store fails while the session is opened, before the handlers run (the
// chain is then not called); and after the handlers, for a failed auto-save
// or a cookie set after the headers went out (session.ErrHeadersSent), when
// echo.UnwrapResponse(c.Response()) tells whether the response has started
// (Committed; an error the handlers returned themselves takes precedence
// over fn's). The default logs the error with the Manager's logger and
// returns a generic 500 error wrapping it (echo.StatusCode gives 500;
// errors.Is matches echo.ErrInternalServerError and the session error), so
// that echo replies 500 Internal Server Error when nothing was written yet,
// without the store's error text even from
// echo.DefaultHTTPErrorHandler(true), which exposes errors.
func WithErrorHandler(fn func(c *echo.Context, err error) error) Option {
	return func(c *config) { c.errorHandler = fn }
}
