package session_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	session "github.com/sessiongo/session/core"
)

// Hooks report the outcome of every open and why a cookie was rejected;
// here they print them, for three requests: one without a cookie (which
// saves a session), one with its cookie, and one with the cookie altered.
// A cookie's Handle, computed when asked for, follows it from its creation
// to its opens without naming its session id.
func ExampleHooks() {
	var created session.Handle
	m, err := session.New(session.Config{
		Secret: "an example secret, 16 bytes or more",
		Hooks: session.Hooks{
			OnOpen: func(_ context.Context, e session.OpenEvent) {
				if e.Outcome == session.OutcomeOpened {
					fmt.Println("open:", e.Outcome, "the cookie created:", e.Handle() == created)
					return
				}
				fmt.Println("open:", e.Outcome)
			},
			OnReject: func(_ context.Context, e session.RejectEvent) {
				fmt.Println("rejected:", e.Cookie, "cookie,", e.Reason, "-", e.Err)
			},
			OnCreate: func(_ context.Context, e session.Event) {
				created = e.Handle()
				fmt.Println("created:", e.Cookie, "cookie,", len(created), "hex digits of handle")
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	request := func(cookie string) string {
		w, r := httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		s, err := m.Start(w, r)
		if err != nil {
			log.Fatal(err)
		}
		if !s.Exists() {
			if err := s.Save(); err != nil {
				log.Fatal(err)
			}
		}
		pair, _, _ := strings.Cut(w.Header().Get("Set-Cookie"), ";")
		return pair
	}
	cookie := request("")
	request(cookie)
	altered := []byte(cookie)
	i := len("session=") + 100 // in the MAC, the header's last 22 characters
	if altered[i] == 'A' {
		altered[i] = 'B'
	} else {
		altered[i] = 'A'
	}
	request(string(altered))
	// Output:
	// open: none
	// created: session cookie, 16 hex digits of handle
	// open: opened the cookie created: true
	// rejected: session cookie, invalid - invalid session message authentication code
	// open: invalid
	// created: session cookie, 16 hex digits of handle
}
