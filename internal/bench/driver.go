package bench

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// recorder is a ResponseWriter whose header map is reused.
type recorder struct {
	h    http.Header
	code int
}

func (w *recorder) Header() http.Header { return w.h }
func (w *recorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}
func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *recorder) reset() { clear(w.h); w.code = 0 }

// jar keeps the cookies of one client, as a browser would for one site.
type jar struct {
	cookies map[string]string
	names   []string
}

func newJar() *jar { return &jar{cookies: map[string]string{}} }

// update applies Set-Cookie lines: a new value, or a removal when the value
// is empty or the cookie expired (Max-Age=0 or less).
func (j *jar) update(lines []string) {
	for _, line := range lines {
		pair, attrs, _ := strings.Cut(line, ";")
		name, value, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if value == "" || expired(attrs) {
			delete(j.cookies, name)
			continue
		}
		j.cookies[name] = value
	}
}

func expired(attrs string) bool {
	for attrs != "" {
		var a string
		a, attrs, _ = strings.Cut(attrs, ";")
		k, v, _ := strings.Cut(strings.TrimSpace(a), "=")
		if strings.EqualFold(k, "Max-Age") && (v == "0" || strings.HasPrefix(v, "-")) {
			return true
		}
	}
	return false
}

// header returns the Cookie header of the jar, "" when empty.
func (j *jar) header() string {
	j.names = j.names[:0]
	for n := range j.cookies {
		j.names = append(j.names, n)
	}
	sort.Strings(j.names)
	var b strings.Builder
	for i, n := range j.names {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(j.cookies[n])
	}
	return b.String()
}

// client drives an http.Handler in process, one request at a time: each
// request is a fresh shallow copy of one GET request (a handler may put
// things in its context), carrying the cookies of the jar, and the
// response's cookies go back into the jar.
type client struct {
	h    http.Handler
	base *http.Request
	w    *recorder
	jar  *jar
}

func newClient(h http.Handler) *client {
	r, _ := http.NewRequest(http.MethodGet, "http://bench.example/", nil)
	r.RemoteAddr = "127.0.0.1:40000"
	return &client{h: h, base: r, w: &recorder{h: http.Header{}}, jar: newJar()}
}

// do serves one request; follow says whether the response's cookies go
// into the jar for the next request.
func (c *client) do(follow bool) error {
	c.w.reset()
	r := *c.base
	c.h.ServeHTTP(c.w, &r)
	if c.w.code != 0 && c.w.code != http.StatusOK {
		return fmt.Errorf("status %d", c.w.code)
	}
	if follow {
		if lines := c.w.h["Set-Cookie"]; len(lines) > 0 {
			c.jar.update(lines)
			c.setCookie(c.jar.header())
		}
	}
	return nil
}

func (c *client) setCookie(v string) {
	if v == "" {
		delete(c.base.Header, "Cookie")
		return
	}
	c.base.Header["Cookie"] = []string{v}
}

var errNoSession = errors.New("no session in the jar after the setup request")

// cellOp turns handlers into the op of a cell of work w: setup (seeded with
// w's data when the work needs a session) runs once, then op runs each
// request. Work that saves follows the cookies of each response; reads
// keep the setup's cookie.
func cellOp(w Work, setup, op http.Handler) (func() error, error) {
	if w == New {
		c := newClient(op)
		return func() error { return c.do(false) }, nil
	}
	c := newClient(setup)
	if err := c.do(true); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if len(c.jar.cookies) == 0 {
		return nil, errNoSession
	}
	c.h = op
	return func() error { return c.do(w.saves()) }, nil
}

// failed answers 500 with err's text.
func failed(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

var errWrongValue = errors.New("the session does not hold the value set up")
