// Package fibersession plugs sessiongo sessions into fiber (v2).
//
//	import fibersession "github.com/sessiongo/session/adapters/fiber"
//
// For fiber v3, the package of the same name and API is
// github.com/sessiongo/session/adapters/fiberv3.
//
// Mount Middleware on an app or a group and read the session from fiber's
// locals with From:
//
//	m, err := session.New(session.Config{Secret: secret})
//	...
//	app := fiber.New(fiber.Config{ReadBufferSize: fibersession.ReadBufferSize})
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
// # Request headers
//
// fasthttp reads a request's headers into fiber.Config.ReadBufferSize
// bytes, 4096 by default, and answers 431 to a request whose headers do not
// fit, before any handler runs. A session kept in cookies (no Store) grows
// to nine 4096-byte cookies, and its remember cookie to as many more, all
// sent back by the browser: with cookie storage, the app needs a
// ReadBufferSize of at least ReadBufferSize. Middleware checks it on the app
// that serves the request (c.App(), so also when the middleware sits in a
// mounted sub-app) and, while it is smaller, fails every request with a
// session.ErrInvalidConfig error that says so, to the error handler: by
// default a 500 and an error logged with the Manager's logger. A session
// that outgrows the buffer would otherwise fail later, silently, for that
// user alone.
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
