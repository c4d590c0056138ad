package main

import (
	"errors"
	"net/http"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/examples/demo"
)

// devicesRoutes adds the "your devices" page: the browsers the user is
// signed in on (session.Session.Devices), signing out one of them
// (Manager.RevokeDevice) and all but this one (Manager.RevokeOtherSessions).
// It needs sessions in a store with the subject index (-store memory): with
// cookie storage the page says so.
func devicesRoutes(mux *http.ServeMux, m *session.Manager, fail func(http.ResponseWriter, *http.Request, error)) {
	back := func(w http.ResponseWriter, r *http.Request, err error) {
		if err != nil {
			fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/devices", http.StatusSeeOther)
	}
	signedIn := func(w http.ResponseWriter, r *http.Request) (*session.Session, bool) {
		s := session.FromRequest(r)
		if s.Subject() == "" {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return nil, false
		}
		return s, true
	}
	mux.HandleFunc("GET /devices", func(w http.ResponseWriter, r *http.Request) {
		s, ok := signedIn(w, r)
		if !ok {
			return
		}
		page := demo.DevicesPage{Framework: "net/http", User: s.Subject()}
		ds, err := s.Devices(r.Context())
		switch {
		case errors.Is(err, session.ErrInvalidConfig):
			page.Unavailable = "Sessions live in cookies here: run the demo with -store memory to list them."
		case err != nil:
			fail(w, r, err)
			return
		}
		page.Devices = ds
		if err := page.Render(w); err != nil {
			m.Logger().Error("demo: render", "err", err)
		}
	})
	mux.HandleFunc("POST /devices/revoke", func(w http.ResponseWriter, r *http.Request) {
		s, ok := signedIn(w, r)
		if !ok {
			return
		}
		// The id only ever names a device of this user: RevokeDevice looks
		// it up among the subject's own devices.
		_, err := m.RevokeDevice(r.Context(), s.Subject(), r.FormValue("id"))
		back(w, r, err)
	})
	mux.HandleFunc("POST /devices/revoke-others", func(w http.ResponseWriter, r *http.Request) {
		s, ok := signedIn(w, r)
		if !ok {
			return
		}
		_, err := m.RevokeOtherSessions(r.Context(), s)
		back(w, r, err)
	})
}
