// Package echosession plugs sessiongo sessions into echo v5.
//
//	import echosession "github.com/sessiongo/session/adapters/echov5"
//
// The package has the name and the API of the echo v4 adapter
// (github.com/sessiongo/session/adapters/echo), in echo v5's idiom
// (handlers take *echo.Context, errors carry their status through
// echo.HTTPStatusCoder): moving an app from echo v4 to v5 changes the
// import path, not the session code. Mount Middleware on an echo instance
// or a group and read the session from the echo context with From:
//
//	m, err := session.New(session.Config{Secret: secret})
//	...
//	e := echo.New()
//	e.Use(echosession.Middleware(m))
//	e.GET("/", func(c *echo.Context) error {
//		s := echosession.From(c)
//		s.Set("visits", 1)
//		if err := s.Save(); err != nil { // before the body, or use WithAutoSave
//			return err
//		}
//		return c.String(http.StatusOK, "hello")
//	})
//
// Each request's session is started (opened and refreshed as its timeouts
// near) before the handlers run; an unusable cookie just gives a new
// session. echo sits on net/http, so the adapter uses core's net/http
// Exchange (adapter.HTTP); the session's pending work (WithAutoSave,
// WithHeaders) is committed from the before-response hook of echo's
// *echo.Response (Before), just before echo writes the headers, and from a
// thin wrapper of the writer beneath it that catches a Flush (or a direct
// write) before echo wrote anything. The work itself is core's
// (session.Scope): cookies are formatted by core only, so every adapter
// sends the same bytes.
//
// # Service code
//
// The request passed to the handlers after the middleware carries the
// session in its context too (c.SetRequest), so code that takes only a
// context.Context reads it with session.FromContext, as behind every
// adapter:
//
//	func greeting(ctx context.Context) string {
//		return "hello, " + session.FromContext(ctx).Subject()
//	}
//
//	e.GET("/hello", func(c *echo.Context) error {
//		return c.String(http.StatusOK, greeting(c.Request().Context()))
//	})
//
// session.FromContext(ctx) is nil without the middleware.
package echosession
