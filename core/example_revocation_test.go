package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// newExampleRevocationBackend stands for a backend every instance of the
// application shares (a Redis, memcached or SQL store, or a file store on a
// shared volume).
func newExampleRevocationBackend() *session.MemoryStore {
	st, err := session.NewMemoryStore()
	if err != nil {
		panic(err)
	}
	return st
}

// An identity provider logs a user out (OpenID Connect Back-Channel
// Logout): the application revokes the keys of the logout token, and the
// user's cookie no longer opens, in whatever browser it is.
func ExampleManager_Revoke() {
	m, err := session.New(session.Config{
		Secret:     "an example secret of 32 bytes or more",
		Revocation: newExampleRevocationBackend(),
	})
	if err != nil {
		log.Fatal(err)
	}

	// Sign-in: the session carries the ID token's sid and sub.
	w := httptest.NewRecorder()
	s := m.NewSession(adapter.NewHTTP(w, httptest.NewRequest(http.MethodGet, "/callback", nil)))
	s.SetSubject("alice")
	s.SetRevocationKeys("sid:https://idp.example#8f2c", "sub:https://idp.example#alice")
	if err := s.Save(); err != nil {
		log.Fatal(err)
	}
	cookies := w.Result().Cookies()

	// The back-channel logout request carries a logout token, no cookie.
	if err := m.Revoke(context.Background(), "sid:https://idp.example#8f2c", 0); err != nil {
		log.Fatal(err) // matches session.ErrStore
	}

	// The browser's next request.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	err = m.NewSession(adapter.NewHTTP(httptest.NewRecorder(), r)).Open()
	fmt.Println(errors.Is(err, session.ErrNotFound), err)
	// Output:
	// true session revoked
}
