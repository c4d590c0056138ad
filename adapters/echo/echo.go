package echosession

import (
	"net/http"

	"github.com/labstack/echo/v4"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// contextKey is the echo context key of the session.
const contextKey = "github.com/sessiongo/session/adapters/echo.session"

// Middleware returns an echo middleware that gives every request its
// session from m; read it with From in handlers, and with
// session.FromContext of c.Request().Context() in code that only has a
// context.Context. See the options for what else it does.
func Middleware(m *session.Manager, opts ...Option) echo.MiddlewareFunc {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	mw := session.NewMiddleware(m, cfg.core...)
	onError := cfg.errorHandler
	if onError == nil {
		onError = func(c echo.Context, err error) error { return defaultErrorHandler(m, c, err) }
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			st := &state{ex: adapter.HTTP{W: res, R: c.Request()}}
			scope, err := mw.Begin(&st.ex)
			if err != nil {
				return onError(c, err)
			}
			s := scope.Session()
			c.Set(contextKey, s)
			// The request's context carries the session too, for service
			// code that takes a context.Context (session.FromContext). The
			// copy shares the header map that the session's exchange edits.
			r := c.Request()
			c.SetRequest(r.WithContext(session.NewContext(r.Context(), s)))
			res.Before(scope.Commit)
			orig := res.Writer
			st.w = writer{ResponseWriter: orig, scope: scope}
			res.Writer = &st.w
			err = next(c)
			if res.Writer == &st.w {
				res.Writer = orig
			}
			if ferr := scope.Finish(); ferr != nil {
				if herr := onError(c, ferr); err == nil {
					err = herr
				}
			}
			return err
		}
	}
}

// From returns the session Middleware stored in c, or nil when the request
// did not go through it.
func From(c echo.Context) *session.Session {
	s, _ := c.Get(contextKey).(*session.Session)
	return s
}

// state is what the middleware keeps per request, in one allocation.
type state struct {
	ex adapter.HTTP
	w  writer
}

// writer wraps c.Response().Writer for the handlers' turn. echo's Response
// runs its before hooks (and so the commit) when it writes the headers, but
// its Flush, and handlers that write to c.Response().Writer directly, go
// around them: writer commits on those too.
type writer struct {
	http.ResponseWriter
	scope *session.Scope
}

// WriteHeader commits, then writes the status line. Informational (1xx)
// statuses other than 101 do not commit: the final response follows.
func (w *writer) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.scope.Commit()
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write commits, then writes p.
func (w *writer) Write(p []byte) (int, error) {
	w.scope.Commit()
	return w.ResponseWriter.Write(p)
}

// Flush commits, then flushes the underlying writer.
func (w *writer) Flush() { w.FlushError() } //nolint:errcheck // http.Flusher has no error

// FlushError commits, then flushes the underlying writer through
// http.ResponseController.
func (w *writer) FlushError() error {
	w.scope.Commit()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// defaultErrorHandler logs err and hands echo a generic 500: echo's
// HTTPErrorHandler, in Debug mode, writes the error's text into the
// response, and a store's error (a host name, an address) must not reach
// the client.
func defaultErrorHandler(m *session.Manager, c echo.Context, err error) error {
	r := c.Request()
	m.Logger().Error("session: middleware", "err", err, "method", r.Method, "path", r.URL.Path)
	return &internalError{err: err} // echo replies 500 unless the response was committed
}

// internalError is the default error handler's error: its text is generic,
// for echo's HTTPErrorHandler, and it wraps echo.ErrInternalServerError and
// the session's error, for errors.Is in a custom one.
type internalError struct{ err error }

func (e *internalError) Error() string { return http.StatusText(http.StatusInternalServerError) }

func (e *internalError) Unwrap() []error { return []error{echo.ErrInternalServerError, e.err} }
