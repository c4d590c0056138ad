package conformance

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
)

// Helpers for an adapter's own tests, beside TestAdapter: its error
// handler, the framework's response paths, its benchmarks.

// SessionCookie saves a new session of m holding data and returns the
// cookies it set, as the value of a Cookie request header ("session=...";
// chunks and the remember cookie, when m sets them, joined with "; "). Add
// it to a request with req.Header.Set("Cookie", v), on net/http or any
// other framework's request type. It fails the test when the save fails.
//
// With a FaultyStore behind m, save the cookie before setting the faults:
// the requests that carry it then reach the failing store when the
// middleware opens the session, which is how an adapter's error handler is
// tested.
func SessionCookie(tb testing.TB, m *session.Manager, data map[string]any) string {
	tb.Helper()
	w := httptest.NewRecorder()
	s := newSession(m, w, httptest.NewRequest(http.MethodGet, "/", nil))
	for k, v := range data {
		s.Set(k, v)
	}
	if err := s.Save(); err != nil {
		tb.Fatalf("conformance.SessionCookie: saving a new session: %v", err)
	}
	var pairs []string
	for _, c := range w.Result().Cookies() {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	if len(pairs) == 0 {
		tb.Fatal("conformance.SessionCookie: the save set no cookie")
	}
	return strings.Join(pairs, "; ")
}

// CheckSetCookies applies to resp the check TestAdapter makes on every
// response: at most one Set-Cookie line per cookie name, and session
// cookies formatted by core. A line for one of the default cookie names
// (session, its chunks session2 to session9, and remember) must carry the
// attributes core gives it with the default cookie settings, and nothing
// else but core's Expires and Max-Age; an adapter that formats or rewrites
// cookies itself fails this. Each problem is reported with tb.Errorf,
// naming resp's request when resp.Request is set.
func CheckSetCookies(tb testing.TB, resp *http.Response) {
	tb.Helper()
	method, path := "", ""
	if resp.Request != nil {
		method = resp.Request.Method
		if resp.Request.URL != nil {
			path = resp.Request.URL.Path
		}
	}
	checkSetCookies(tb, method, path, resp)
}

// NewClient returns an HTTP client for an adapter's own tests, like the
// one TestAdapter uses without its cookie jar: it does not follow
// redirects (a handler's redirect is the response under test), its
// requests time out after 30 seconds, it closes its idle connections when
// the test ends, and it checks every response with CheckSetCookies.
func NewClient(tb testing.TB) *http.Client {
	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport: checkTransport{t: tb, base: tr},
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
