// Package fibersession plugs sessiongo sessions into fiber (v2).
//
//	import fibersession "github.com/sessiongo/session/adapters/fiber"
//
// Mount Middleware on an app or a group and read the session from fiber's
// locals with From:
//
//	m, err := session.New(session.Config{Secret: secret})
//	...
//	app := fiber.New()
//	app.Use(fibersession.Middleware(m))
//	app.Get("/", func(c *fiber.Ctx) error {
//		s := fibersession.From(c)
//		s.Set("visits", 1)
//		if err := s.Save(); err != nil {
//			return err
//		}
//		return c.SendString("hello")
//	})
//
// Each request's session is started (opened and refreshed as its timeouts
// near) before the handlers run; an unusable cookie just gives a new
// session. fiber runs on fasthttp, not net/http, so the adapter implements
// core's adapter.Exchange for a *fiber.Ctx. fiber buffers the response until every
// handler has returned, so the session's pending work (WithAutoSave,
// WithHeaders) is committed after the handlers, and a Save may come after
// the handler wrote its body. The Set-Cookie lines are core's own, kept by
// the adapter (one per cookie name, a later one replacing an earlier one)
// and copied into the response as they are: fiber's c.Cookie is never used,
// since it would re-format them. The work itself is core's (session.Scope),
// so every adapter sends the same bytes.
//
// fasthttp reuses its buffers once a request is done: the adapter copies
// what the session keeps (the Cookie header). A session must not be used
// after its request returned, as with every value of a *fiber.Ctx.
//
// # Service code
//
// The middleware also puts the session in fiber's user context
// (c.SetUserContext, wrapping the context already there, whose values are
// kept), so code that takes only a context.Context reads it with
// session.FromContext, as behind every adapter:
//
//	func greeting(ctx context.Context) string {
//		return "hello, " + session.FromContext(ctx).Subject()
//	}
//
//	app.Get("/hello", func(c *fiber.Ctx) error {
//		return c.SendString(greeting(c.UserContext()))
//	})
//
// Pass c.UserContext(), not c.Context() (fasthttp's request context, which
// does not carry it). session.FromContext(ctx) is nil without the
// middleware.
package fibersession
