// Package fibersession plugs sessiongo sessions into fiber v3.
//
//	import fibersession "github.com/sessiongo/session/adapters/fiberv3"
//
// The package has the name and the API of the fiber v2 adapter
// (github.com/sessiongo/session/adapters/fiber), in fiber v3's idiom
// (handlers take the fiber.Ctx interface, and it is a context.Context):
// moving an app from fiber v2 to v3 changes the import path, not the
// session code. Mount Middleware on an app or a group and read the session
// with From:
//
//	m, err := session.New(session.Config{Secret: secret})
//	...
//	app := fiber.New(fiber.Config{ReadBufferSize: fibersession.ReadBufferSize})
//	app.Use(fibersession.Middleware(m))
//	app.Get("/", func(c fiber.Ctx) error {
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
// core's adapter.Exchange for a fiber.Ctx. fiber buffers the response until
// every handler has returned, so the session's pending work (WithAutoSave,
// WithHeaders) is committed after the handlers, and a Save may come after
// the handler wrote its body. The Set-Cookie lines are core's own, kept by
// the adapter (one per cookie name, a later one replacing an earlier one)
// and copied into the response as they are: fiber's c.Cookie is never used,
// since it would re-format them. The work itself is core's (session.Scope),
// so every adapter sends the same bytes.
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
// fiber.Ctx is a context.Context whose Value reads c.Locals, and the
// middleware keeps the session there under core's context key, so service
// code that takes a context.Context reads it with session.FromContext from
// c itself, as fiber's documentation has handlers pass c on:
//
//	func greeting(ctx context.Context) string {
//		return "hello, " + session.FromContext(ctx).Subject()
//	}
//
//	app.Get("/hello", func(c fiber.Ctx) error {
//		return c.SendString(greeting(c))
//	})
//
// The middleware also wraps c.Context() (c.SetContext; the context already
// there and its values are kept), the context fiber gives for work that
// outlives the handler, so session.FromContext(c.Context()) finds the
// session too; store calls run under it. session.FromContext is nil without
// the middleware.
//
// fasthttp reuses its buffers, and fiber its fiber.Ctx, once a request is
// done: the adapter copies what the session keeps (the Cookie header), and
// a session, like c, must not be used after its request returned.
package fibersession
