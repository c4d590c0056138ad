package bench

import (
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/gofiber/fiber/v2"
	fibersession "github.com/gofiber/fiber/v2/middleware/session"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/gorilla/sessions"
	"github.com/valyala/fasthttp"
)

// The peers, each used as its documentation shows, with its defaults but
// for what the table needs the same everywhere: the 3 small values, an int
// or a float64 n incremented by updates.

// scsHandlers returns the setup and op handlers of work w on sm, behind
// sm.LoadAndSave. scs keeps n as an int.
func scsHandlers(sm *scs.SessionManager, w Work) (setup, op http.Handler) {
	setup = sm.LoadAndSave(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sm.Put(ctx, "user", "alice")
		sm.Put(ctx, "role", "admin")
		sm.Put(ctx, "n", 42)
		if w.large() {
			sm.Put(ctx, "blob", blob)
		}
	}))
	var h http.HandlerFunc
	switch w {
	case New:
		h = func(rw http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			sm.Put(ctx, "user", "alice")
			sm.Put(ctx, "role", "admin")
			sm.Put(ctx, "n", 42)
		}
	case Read, LargeRead:
		h = func(rw http.ResponseWriter, r *http.Request) {
			if sm.GetString(r.Context(), "user") != "alice" {
				failed(rw, errWrongValue)
			}
		}
	default:
		h = func(rw http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			n := sm.GetInt(ctx, "n")
			if n == 0 {
				failed(rw, errWrongValue)
				return
			}
			sm.Put(ctx, "n", n+1)
		}
	}
	return setup, sm.LoadAndSave(h)
}

func scsCell(sm *scs.SessionManager, w Work) (func() error, func(), error) {
	setup, op := scsHandlers(sm, w)
	f, err := cellOp(w, setup, op)
	return f, nil, err
}

func scsMemory(_ *env, w Work) (func() error, func(), error) {
	return scsCell(scs.New(), w)
}

func scsRedis(e *env, w Work) (func() error, func(), error) {
	e.goRedis() // deletes the run's keys at the end
	pool := &redigo.Pool{
		MaxIdle:     10,
		IdleTimeout: 240 * time.Second,
		Dial:        func() (redigo.Conn, error) { return redigo.Dial("tcp", e.servers.RedisAddr) },
	}
	sm := scs.New()
	sm.Store = redisstore.NewWithPrefix(pool, e.prefix+":scs:")
	op, _, err := scsCell(sm, w)
	return op, func() { pool.Close() }, err
}

// gorillaHandlers returns the setup and op handlers of work w on a
// CookieStore with AES-256 encryption. gorilla keeps n as an int.
func gorillaHandlers(st *sessions.CookieStore, w Work) (setup, op http.Handler) {
	const name = "session"
	setup = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		s, _ := st.Get(r, name)
		s.Values["user"] = "alice"
		s.Values["role"] = "admin"
		s.Values["n"] = 42
		if w.large() {
			s.Values["blob"] = blob
		}
		if err := s.Save(r, rw); err != nil {
			failed(rw, err)
		}
	})
	switch w {
	case New:
		op = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			s, _ := st.Get(r, name)
			s.Values["user"] = "alice"
			s.Values["role"] = "admin"
			s.Values["n"] = 42
			if err := s.Save(r, rw); err != nil {
				failed(rw, err)
			}
		})
	case Read, LargeRead:
		op = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			s, err := st.Get(r, name)
			if err != nil || s.IsNew || s.Values["user"] != "alice" {
				failed(rw, errWrongValue)
			}
		})
	default:
		op = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			s, err := st.Get(r, name)
			n, ok := s.Values["n"].(int)
			if err != nil || !ok {
				failed(rw, errWrongValue)
				return
			}
			s.Values["n"] = n + 1
			if err := s.Save(r, rw); err != nil {
				failed(rw, err)
			}
		})
	}
	return setup, op
}

func gorillaCookie(_ *env, w Work) (func() error, func(), error) {
	hashKey := sha256.Sum256([]byte("benchmark-secret:hash"))
	blockKey := sha256.Sum256([]byte("benchmark-secret:block"))
	st := sessions.NewCookieStore(hashKey[:], blockKey[:])
	setup, op := gorillaHandlers(st, w)
	f, err := cellOp(w, setup, op)
	return f, nil, err
}

// fiberMemory is Fiber v2's session middleware on its default memory
// storage, driven through the app's fasthttp handler. Fiber keeps n as an
// int.
func fiberMemory(_ *env, w Work) (func() error, func(), error) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	st := fibersession.New()
	app.Get("/setup", func(c *fiber.Ctx) error {
		s, err := st.Get(c)
		if err != nil {
			return err
		}
		s.Set("user", "alice")
		s.Set("role", "admin")
		s.Set("n", 42)
		if w.large() {
			s.Set("blob", blob)
		}
		return s.Save()
	})
	app.Get("/", func(c *fiber.Ctx) error {
		s, err := st.Get(c)
		if err != nil {
			return err
		}
		switch w {
		case New:
			s.Set("user", "alice")
			s.Set("role", "admin")
			s.Set("n", 42)
		case Read, LargeRead:
			if s.Fresh() || s.Get("user") != "alice" {
				return errWrongValue
			}
			return nil
		default:
			n, ok := s.Get("n").(int)
			if !ok {
				return errWrongValue
			}
			s.Set("n", n+1)
		}
		return s.Save()
	})
	h := app.Handler()
	var ctx fasthttp.RequestCtx
	j := newJar()
	cookie := ""
	do := func(path string, follow bool) error {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.ResetUserValues() // as fasthttp's server does between requests
		ctx.Request.Header.SetMethod(fasthttp.MethodGet)
		ctx.Request.SetRequestURI(path)
		if cookie != "" {
			ctx.Request.Header.Set("Cookie", cookie)
		}
		h(&ctx)
		if code := ctx.Response.StatusCode(); code != fasthttp.StatusOK {
			return &statusError{code, string(ctx.Response.Body())}
		}
		if follow {
			var lines []string
			ctx.Response.Header.VisitAllCookie(func(_, v []byte) { lines = append(lines, string(v)) })
			if len(lines) > 0 {
				j.update(lines)
				cookie = j.header()
			}
		}
		return nil
	}
	if w != New {
		if err := do("/setup", true); err != nil {
			return nil, nil, err
		}
		if len(j.cookies) == 0 {
			return nil, nil, errNoSession
		}
	}
	follow := w.saves() && w != New
	return func() error { return do("/", follow) }, func() { app.Shutdown() }, nil
}

type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return http.StatusText(e.code) + ": " + e.body }
