package loadtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeApp is the example app's protocol (the page's ids, the form posts,
// the 303s and the session cookie) on a map, with the faults a store can
// cause made by hand: a failure (with or without the save applied), a
// session dropped or sent back in time, another user's page, revocations
// lost. Every save, as the library's, names a new record.
type fakeApp struct {
	mu        sync.Mutex
	sessions  map[string]*fakeSession
	revoked   map[string]bool // revoked record ids (cookie mode's marks)
	failNext  int             // answer the next requests 500...
	applyFail bool            // ...after applying their saves
}

type fakeSession struct {
	user   string
	visits int64
	flash  bool
}

func newFakeApp() *fakeApp {
	return &fakeApp{sessions: map[string]*fakeSession{}, revoked: map[string]bool{}}
}

func (f *fakeApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var id string
	var s *fakeSession
	if c, err := r.Cookie(sessionCookie); err == nil && !f.revoked[c.Value] {
		id, s = c.Value, f.sessions[c.Value]
	}
	fail := f.failNext > 0
	if fail {
		f.failNext--
	}
	// save stores next under a new id and answers with its cookie, or, when
	// failing, maybe stores it and answers 500 without a cookie.
	save := func(next *fakeSession) bool {
		if fail && !f.applyFail {
			http.Error(w, "store down", http.StatusInternalServerError)
			return false
		}
		nid := rand.Text()
		f.sessions[nid] = next
		if fail {
			http.Error(w, "store down", http.StatusInternalServerError)
			return false
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: nid})
		return true
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /":
		if fail && !(s != nil && s.flash) {
			http.Error(w, "store down", http.StatusInternalServerError)
			return
		}
		if s == nil {
			fmt.Fprint(w, `<form method="post" action="/login">`)
			return
		}
		if s.flash && !save(&fakeSession{user: s.user, visits: s.visits}) {
			return
		}
		fmt.Fprintf(w, `<b id="user">%s</b><dd id="visits">%d</dd>`, s.user, s.visits)
	case "POST /login":
		if save(&fakeSession{user: r.FormValue("user"), flash: true}) {
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}
	case "POST /visit":
		if s == nil {
			if fail {
				http.Error(w, "store down", http.StatusInternalServerError)
				return
			}
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		if save(&fakeSession{user: s.user, visits: s.visits + 1}) {
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}
	case "POST /logout":
		if fail {
			if f.applyFail && id != "" {
				f.revoked[id] = true
			}
			http.Error(w, "store down", http.StatusInternalServerError)
			return
		}
		if id != "" {
			f.revoked[id] = true
		}
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, MaxAge: -1})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	default:
		http.NotFound(w, r)
	}
}

// each runs fn on every session.
func (f *fakeApp) each(fn func(id string, s *fakeSession)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, s := range f.sessions {
		fn(id, s)
	}
}

// clock is a test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestUser drives a user against the fake app through a scripted story
// per case and checks what the user reports: the events and the wrong
// pages.
func TestUser(t *testing.T) {
	t.Parallel()
	type env struct {
		t   *testing.T
		app *fakeApp
		us  *user
		clk *clock
		ctx context.Context
	}
	signIn := func(e env, visits int) {
		e.t.Helper()
		if !e.us.login(e.ctx) {
			e.t.Fatal("the sign-in failed")
		}
		e.us.page(e.ctx, "page")
		for range visits {
			e.us.visit(e.ctx)
		}
		e.us.page(e.ctx, "page")
	}
	tests := []struct {
		name  string
		mode  Mode
		story func(e env)
		want  map[EventKind]int
		saves int64 // acknowledged saves lost, in all
	}{
		{"no fault", ServerMode, func(e env) { signIn(e, 3) }, nil, 0},
		{"session dropped", ServerMode, func(e env) {
			signIn(e, 3)
			e.app.each(func(id string, _ *fakeSession) { delete(e.app.sessions, id) })
			e.us.page(e.ctx, "page")
		}, map[EventKind]int{Lost: 1}, 4},
		{"session dropped, seen by a visit", ServerMode, func(e env) {
			signIn(e, 2)
			e.app.each(func(id string, _ *fakeSession) { delete(e.app.sessions, id) })
			e.us.visit(e.ctx)
		}, map[EventKind]int{Lost: 1}, 3},
		{"counter back", ServerMode, func(e env) {
			signIn(e, 5)
			e.app.each(func(_ string, s *fakeSession) { s.visits = 2 })
			e.us.page(e.ctx, "page")
		}, map[EventKind]int{Lost: 1}, 3},
		{"a failed visit that saved all the same", ServerMode, func(e env) {
			signIn(e, 2)
			e.app.failNext, e.app.applyFail = 1, true
			e.us.visit(e.ctx) // 500, but the fake applied it... to a record the cookie does not name
			e.us.page(e.ctx, "page")
			e.us.visit(e.ctx)
			e.us.page(e.ctx, "page")
		}, nil, 0},
		{"gone soon after a failed save: lost", ServerMode, func(e env) {
			signIn(e, 2)
			e.app.failNext = 1
			e.us.visit(e.ctx)
			e.clk.t = e.clk.t.Add(2 * time.Second)
			e.app.each(func(id string, _ *fakeSession) { delete(e.app.sessions, id) })
			e.us.page(e.ctx, "page")
		}, map[EventKind]int{Lost: 1}, 3},
		{"gone a stale TTL after a failed save", ServerMode, func(e env) {
			signIn(e, 2)
			e.app.failNext, e.app.applyFail = 1, true
			e.us.visit(e.ctx)
			e.clk.t = e.clk.t.Add(staleTTL)
			e.app.each(func(id string, s *fakeSession) {
				if s.visits == 2 { // the record the cookie names expires
					delete(e.app.sessions, id)
				}
			})
			e.us.page(e.ctx, "page")
		}, map[EventKind]int{GoneAfterError: 1}, 0},
		{"gone a stale TTL after a save that succeeded: lost", ServerMode, func(e env) {
			signIn(e, 2)
			e.app.failNext = 1
			e.us.visit(e.ctx)
			e.us.visit(e.ctx) // acknowledged: the cookie names a new record
			e.clk.t = e.clk.t.Add(staleTTL)
			e.app.each(func(id string, _ *fakeSession) { delete(e.app.sessions, id) })
			e.us.page(e.ctx, "page")
		}, map[EventKind]int{Lost: 1}, 4},
		{"gone in cookie mode after a failed visit: lost", CookieMode, func(e env) {
			signIn(e, 1)
			e.app.failNext = 1
			e.us.visit(e.ctx)
			e.clk.t = e.clk.t.Add(time.Minute)
			e.app.each(func(id string, _ *fakeSession) { delete(e.app.sessions, id) })
			e.us.page(e.ctx, "page")
		}, map[EventKind]int{Lost: 1}, 2},
		{"another user's page", ServerMode, func(e env) {
			signIn(e, 1)
			e.app.each(func(_ string, s *fakeSession) { s.user = "bob" })
			e.us.page(e.ctx, "page")
		}, map[EventKind]int{Wrong: 1}, 0},
		{"visits never sent", ServerMode, func(e env) {
			signIn(e, 1)
			e.app.each(func(_ string, s *fakeSession) { s.visits = 9 })
			e.us.page(e.ctx, "page")
		}, map[EventKind]int{Wrong: 1}, 0},
		{"logout holds", CookieMode, func(e env) {
			signIn(e, 1)
			e.us.logout(e.ctx)
			e.us.final(e.ctx)
			e.us.replayOne(e.ctx)
		}, nil, 0},
		{"logout undone", CookieMode, func(e env) {
			signIn(e, 1)
			e.us.logout(e.ctx)
			clear(e.app.revoked) // the marks are lost
			e.us.replayOne(e.ctx)
			e.us.final(e.ctx) // the set that opened was dropped: counted once
		}, map[EventKind]int{Lost: 1}, 1},
		{"a failed logout that revoked all the same", CookieMode, func(e env) {
			signIn(e, 1)
			e.app.failNext, e.app.applyFail = 1, true
			e.us.logout(e.ctx)
			e.us.page(e.ctx, "page") // the login form: right after a failed logout
			if e.us.signedIn || e.us.unsure {
				e.t.Error("after the login form, the user still thinks it is signed in")
			}
		}, nil, 0},
		{"a failed logout that changed nothing", CookieMode, func(e env) {
			signIn(e, 1)
			e.app.failNext = 1
			e.us.logout(e.ctx)
			e.us.visit(e.ctx)
			e.us.page(e.ctx, "page")
		}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app := newFakeApp()
			srv := httptest.NewServer(app)
			defer srv.Close()
			rec := &recorder{}
			us, err := newUser(rec, srv.URL, tt.mode, "alice", srv.Client().Transport, 1)
			if err != nil {
				t.Fatal(err)
			}
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			us.now = clk.now
			tt.story(env{t: t, app: app, us: us, clk: clk, ctx: t.Context()})
			_, events := rec.snapshot()
			got := map[EventKind]int{}
			var saves int64
			for _, e := range events {
				got[e.Kind]++
				if e.Kind == Lost {
					saves += e.Saves
				}
			}
			for _, k := range []EventKind{Lost, GoneAfterError, Wrong} {
				if got[k] != tt.want[k] {
					t.Errorf("%s events: %d, want %d (events: %+v)", k, got[k], tt.want[k], events)
				}
			}
			if saves != tt.saves {
				t.Errorf("acknowledged saves lost: %d, want %d (events: %+v)", saves, tt.saves, events)
			}
		})
	}
}

// TestField reads the page's fields, unescaped, and "" for a missing one.
func TestField(t *testing.T) {
	t.Parallel()
	body := `<b id="user">bob &amp; co</b><dd id="visits">12</dd><p id="x-y">z</p>`
	for _, tt := range []struct{ id, want string }{
		{"user", "bob & co"}, {"visits", "12"}, {"x-y", "z"}, {"name", ""},
	} {
		if got := Field(body, tt.id); got != tt.want {
			t.Errorf("Field(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
	if got := Field(`<form method="post" action="/login">`, "user"); got != "" {
		t.Errorf("the login form has a user: %q", got)
	}
}
