package fibersession

import (
	"github.com/gofiber/fiber/v2"
	session "github.com/sessiongo/session/core"
)

// Option configures Middleware.
type Option func(*config)

type config struct {
	core         []session.MiddlewareOption
	errorHandler func(c *fiber.Ctx, err error) error
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
// once the handlers returned (Session-Id, Session-Timeout, ...).
func WithHeaders() Option { return coreOption(session.WithHeaders()) }

// WithClearRequestCookie removes the session and remember cookies from the
// request once the session is open, so that handlers after the middleware
// (a reverse proxy) neither see nor forward them.
func WithClearRequestCookie() Option { return coreOption(session.WithClearRequestCookie()) }

// WithAutoSave saves a session whose data, subject, audience or remember
// setting changed, after the handlers returned and before fiber sends the
// response; handlers then need not call Save.
func WithAutoSave() Option { return coreOption(session.WithAutoSave()) }

// WithErrorHandler sets the handler of errors other than an unusable cookie
// (which just gives a new session); the middleware returns what fn returns,
// so a non-nil error goes on to the app's ErrorHandler. It is called
// before the handlers run (the chain is then not called) when the store
// fails while the session is opened, and when the app's ReadBufferSize is
// too small for cookie storage (session.ErrInvalidConfig: see
// ReadBufferSize); and after the handlers, for a failed auto-save (an error
// the handlers returned themselves takes precedence over fn's).
// fiber has not sent anything at either point, so fn may still replace the
// response. The default logs the error with the Manager's logger and
// returns a 500 *fiber.Error that wraps it (errors.Is and errors.As see
// both), so that the app's ErrorHandler replies 500 Internal Server Error
// without showing the store's error to the client.
func WithErrorHandler(fn func(c *fiber.Ctx, err error) error) Option {
	return func(c *config) { c.errorHandler = fn }
}
