package session_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// A "your devices" page: alice signs in on a phone and a laptop, lists her
// devices from the laptop, and signs out all the others.
func ExampleManager_RevokeOtherSessions() {
	st, err := session.NewMemoryStore()
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{
		Secret:        "an example secret of 32 or more bytes!",
		Store:         st,
		StoreMetadata: true, // the index of each user's sessions
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	// login signs alice in on a browser and returns its cookies.
	login := func(userAgent string) []*http.Cookie {
		w := httptest.NewRecorder()
		s := m.NewSession(adapter.NewHTTP(w, httptest.NewRequest("POST", "/login", nil)))
		s.SetSubject("alice")
		s.SetDeviceFacts(session.DeviceFacts{UserAgent: userAgent}) // opt-in personal data
		if err := s.Save(); err != nil {
			log.Fatal(err)
		}
		return w.Result().Cookies()
	}
	// open opens the session of a browser's cookies; a signed out
	// browser has none.
	open := func(cookies []*http.Cookie) *session.Session {
		r := httptest.NewRequest("GET", "/devices", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		s, err := m.Open(httptest.NewRecorder(), r)
		if err != nil {
			log.Fatal(err)
		}
		return s
	}

	phone := login("Phone/1")
	laptop := login("Laptop/2")

	s := open(laptop)
	devices, err := s.Devices(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range devices {
		fmt.Println(d.Facts.UserAgent, d.Kind, "current:", d.Current)
	}
	n, err := m.RevokeOtherSessions(ctx, s)
	fmt.Println("signed out:", n, err)
	fmt.Println("phone signed in:", open(phone).Exists())
	fmt.Println("laptop signed in:", open(laptop).Exists())
	// Unordered output:
	// Phone/1 session current: false
	// Laptop/2 session current: true
	// signed out: 1 <nil>
	// phone signed in: false
	// laptop signed in: true
}
