// Package ginsession plugs sessiongo sessions into gin.
//
//	import ginsession "github.com/sessiongo/session/adapters/gin"
//
// Mount Middleware on an engine or a group and read the session from the
// gin context with From:
//
//	m, err := session.New(session.Config{Secret: secret})
//	...
//	r := gin.New()
//	r.Use(ginsession.Middleware(m))
//	r.GET("/", func(c *gin.Context) {
//		s := ginsession.From(c)
//		s.Set("visits", 1)
//		s.Save() // before the body, or use WithAutoSave
//		c.String(http.StatusOK, "hello")
//	})
//
// Each request's session is started (opened and refreshed as its timeouts
// near) before the handlers run; an unusable cookie just gives a new
// session. c.Writer is wrapped for the rest of the chain so that the
// session's pending work (WithAutoSave, WithHeaders) is committed just
// before gin writes the headers. The work itself is core's (session.Scope):
// cookies are formatted by core only, so every adapter sends the same bytes.
//
// # Service code
//
// The request passed to the handlers after the middleware carries the
// session in its context too, so code that takes only a context.Context
// reads it with session.FromContext, as behind every adapter:
//
//	func greeting(ctx context.Context) string {
//		return "hello, " + session.FromContext(ctx).Subject()
//	}
//
//	r.GET("/hello", func(c *gin.Context) {
//		c.String(http.StatusOK, greeting(c.Request.Context()))
//	})
//
// The gin context itself finds it only when the engine's
// ContextWithFallback is set (gin then looks its Value up in
// c.Request.Context()). session.FromContext(ctx) is nil without the
// middleware.
package ginsession
