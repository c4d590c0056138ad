package ginsession

import (
	"net/http"

	"github.com/gin-gonic/gin"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// contextKey is the gin context key of the session.
type contextKey struct{}

// Middleware returns a gin middleware that gives every request its session
// from m; read it with From in handlers, and with session.FromContext of
// c.Request.Context() in code that only has a context.Context. See the
// options for what else it does.
func Middleware(m *session.Manager, opts ...Option) gin.HandlerFunc {
	var c config
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	mw := session.NewMiddleware(m, c.core...)
	onError := c.errorHandler
	if onError == nil {
		onError = func(c *gin.Context, err error) { defaultErrorHandler(m, c, err) }
	}
	return func(c *gin.Context) {
		st := &state{ex: adapter.HTTP{W: c.Writer, R: c.Request}}
		scope, err := mw.Begin(&st.ex)
		if err != nil {
			onError(c, err)
			c.Abort()
			return
		}
		s := scope.Session()
		c.Set(contextKey{}, s)
		// The request's context carries the session too, for service code
		// that takes a context.Context (session.FromContext). The copy
		// shares the header map that the session's exchange edits.
		c.Request = c.Request.WithContext(session.NewContext(c.Request.Context(), s))
		orig := c.Writer
		st.w = writer{ResponseWriter: orig, scope: scope}
		c.Writer = &st.w
		c.Next()
		c.Writer = orig
		if err := scope.Finish(); err != nil {
			onError(c, err)
		}
	}
}

// From returns the session Middleware stored in c, or nil when the request
// did not go through it.
func From(c *gin.Context) *session.Session {
	v, ok := c.Get(contextKey{})
	if !ok {
		return nil
	}
	s, _ := v.(*session.Session)
	return s
}

// state is what the middleware keeps per request, in one allocation.
type state struct {
	ex adapter.HTTP
	w  writer
}

// writer commits the session's pending work just before gin writes the
// response headers: gin's WriteHeader only records the status, and the
// headers go out with WriteHeaderNow, the first Write or a Flush.
type writer struct {
	gin.ResponseWriter
	scope *session.Scope
}

// WriteHeaderNow commits, then writes the headers.
func (w *writer) WriteHeaderNow() {
	w.scope.Commit()
	w.ResponseWriter.WriteHeaderNow()
}

// Write commits, then writes p.
func (w *writer) Write(p []byte) (int, error) {
	w.scope.Commit()
	return w.ResponseWriter.Write(p)
}

// WriteString commits, then writes s.
func (w *writer) WriteString(s string) (int, error) {
	w.scope.Commit()
	return w.ResponseWriter.WriteString(s)
}

// Flush commits, then flushes.
func (w *writer) Flush() {
	w.scope.Commit()
	w.ResponseWriter.Flush()
}

// Unwrap returns gin's writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func defaultErrorHandler(m *session.Manager, c *gin.Context, err error) {
	m.Logger().Error("session: middleware", "err", err, "method", c.Request.Method, "path", c.Request.URL.Path)
	_ = c.Error(err) // for gin's error-handling middlewares
	if !c.Writer.Written() {
		c.AbortWithStatus(http.StatusInternalServerError)
	}
}
