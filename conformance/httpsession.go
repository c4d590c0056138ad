package conformance

import (
	"net/http"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// The rules drive a Manager over net/http through these helpers, which
// return Session.Open's error: the reason a request has no usable session,
// which the rules check (ErrNotFound after a revocation...) and which
// Manager.Open and Manager.Start, for whom it is not an error, do not
// return.

// newSession returns a new, empty session of m for a net/http request.
func newSession(m *session.Manager, w http.ResponseWriter, r *http.Request) *session.Session {
	return m.NewSession(adapter.NewHTTP(w, r))
}

// openSession opens the session of a net/http request; the error says why
// it has none.
func openSession(m *session.Manager, w http.ResponseWriter, r *http.Request) (*session.Session, error) {
	s := newSession(m, w, r)
	return s, s.Open()
}

// startSession opens and refreshes the session of a net/http request; the
// error says why it has none, or why the refresh failed.
func startSession(m *session.Manager, w http.ResponseWriter, r *http.Request) (*session.Session, error) {
	s := newSession(m, w, r)
	return s, s.Start()
}

// logoutSession opens the session of a net/http request and logs it out.
// Unlike Manager.Logout, a request without a usable session is an error:
// the rules log out sessions that must exist.
func logoutSession(m *session.Manager, w http.ResponseWriter, r *http.Request) error {
	s, err := openSession(m, w, r)
	if err != nil {
		return err
	}
	return s.Logout()
}

// destroySession opens the session of a net/http request and destroys it.
// Unlike Manager.Destroy, a request without a usable session is an error.
func destroySession(m *session.Manager, w http.ResponseWriter, r *http.Request) error {
	s, err := openSession(m, w, r)
	if err != nil {
		return err
	}
	return s.Destroy()
}
