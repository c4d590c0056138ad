package echosession

import (
	"net/http"

	"github.com/labstack/echo/v5"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// contextKey is the echo context key of the session.
const contextKey = "github.com/sessiongo/session/adapters/echov5.session"

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
		onError = func(c *echo.Context, err error) error { return defaultErrorHandler(m, c, err) }
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			st := &state{ex: adapter.HTTP{W: c.Response(), R: c.Request()}}
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
			st.wrap(c, scope)
			err = next(c)
			st.unwrap(c)
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
func From(c *echo.Context) *session.Session {
	s, _ := c.Get(contextKey).(*session.Session)
	return s
}

// state is what the middleware keeps per request, in one allocation.
type state struct {
	ex   adapter.HTTP
	w    writer
	res  *echo.Response      // the response whose writer w replaced; nil: w replaced c's response
	orig http.ResponseWriter // what w replaced
}

// wrap makes the response commit the session's pending work before its
// headers go out, for the handlers' turn; unwrap undoes it. echo's
// *echo.Response runs its before hooks (and so the commit) when it writes
// the headers; its Flush, and code that writes to the writer beneath it,
// go around them: the writer beneath is wrapped too. When another
// middleware's writer hides the *echo.Response (it does not Unwrap to
// it), that writer is wrapped instead.
func (st *state) wrap(c *echo.Context, scope *session.Scope) {
	if res, err := echo.UnwrapResponse(c.Response()); err == nil {
		res.Before(scope.Commit)
		st.res, st.orig = res, res.ResponseWriter
		st.w = writer{ResponseWriter: st.orig, scope: scope}
		res.ResponseWriter = &st.w
		return
	}
	st.orig = c.Response()
	st.w = writer{ResponseWriter: st.orig, scope: scope}
	c.SetResponse(&st.w)
}

// unwrap puts back what wrap replaced, unless a handler replaced it since.
func (st *state) unwrap(c *echo.Context) {
	if st.res != nil {
		if st.res.ResponseWriter == &st.w {
			st.res.ResponseWriter = st.orig
		}
		return
	}
	if c.Response() == http.ResponseWriter(&st.w) {
		c.SetResponse(st.orig)
	}
}

// writer wraps a response writer for the handlers' turn and commits the
// session's pending work on the first WriteHeader, Write or Flush.
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

// Unwrap returns the underlying writer, for http.ResponseController and
// echo.UnwrapResponse.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// defaultErrorHandler logs err and hands echo a generic 500: echo's
// HTTPErrorHandler, made with echo.DefaultHTTPErrorHandler(true), writes
// the error's text into the response, and a store's error (a host name, an
// address) must not reach the client.
func defaultErrorHandler(m *session.Manager, c *echo.Context, err error) error {
	r := c.Request()
	m.Logger().Error("session: middleware", "err", err, "method", r.Method, "path", r.URL.Path)
	return &internalError{err: err} // echo replies 500 unless the response was committed
}

// internalError is the default error handler's error: its status is 500
// (echo.HTTPStatusCoder) and its text generic, for echo's
// HTTPErrorHandler; it wraps echo.ErrInternalServerError and the session's
// error, for errors.Is in a custom one.
type internalError struct{ err error }

func (e *internalError) Error() string { return http.StatusText(http.StatusInternalServerError) }

// StatusCode returns 500, for echo.StatusCode and echo's HTTPErrorHandler.
func (e *internalError) StatusCode() int { return http.StatusInternalServerError }

func (e *internalError) Unwrap() []error { return []error{echo.ErrInternalServerError, e.err} }
