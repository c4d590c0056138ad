// Package chisession plugs sessiongo sessions into go-chi/chi routers.
//
//	import chisession "github.com/sessiongo/session/adapters/chi"
//
// chi routes plain net/http handlers, so the middleware is core's net/http
// middleware in chi's idiom: mount it with r.Use and read the session from
// the request with From.
//
//	m, err := session.New(session.Config{Secret: secret})
//	...
//	r := chi.NewRouter()
//	r.Use(chisession.Middleware(m))
//	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
//		s := chisession.From(r)
//		s.Set("visits", 1)
//		s.Save() // before the body, or use WithAutoSave
//		...
//	})
//
// Each request's session is started (opened and refreshed as its timeouts
// near) before the handler runs; an unusable cookie just gives a new
// session. The response writer is wrapped so that the session's pending work
// (WithAutoSave, WithHeaders) is committed before the headers go out;
// http.ResponseController (Flush, deadlines, Hijack) keeps working through
// it. Cookies are always formatted by core, so every adapter sends the same
// bytes.
//
// # Service code
//
// The session is stored in the request's context, so code that takes only
// a context.Context reads it with session.FromContext (or FromContext), as
// behind every adapter:
//
//	func greeting(ctx context.Context) string {
//		return "hello, " + session.FromContext(ctx).Subject()
//	}
//
//	r.Get("/hello", func(w http.ResponseWriter, r *http.Request) {
//		io.WriteString(w, greeting(r.Context()))
//	})
//
// session.FromContext(ctx) is nil without the middleware.
package chisession
