package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// With a Store the cookie carries only the 110-character header; the
// encrypted data lives in the store.
func ExampleNewMemoryStore() {
	st, err := session.NewMemoryStore(
		session.WithMaxEntries(10_000),
		session.WithCleanupInterval(time.Minute),
	)
	if err != nil {
		panic(err)
	}
	defer st.Stop() // ends the cleaner goroutine

	m, err := session.New(session.Config{Secret: "change me", Store: st})
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	s, err := m.Open(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil {
		panic(err)
	}
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		panic(err)
	}
	cookie := w.Result().Cookies()[0]
	fmt.Println(cookie.Name, len(cookie.Value), "characters; records:", st.Len())
	// Output: session 110 characters; records: 1
}

// A FileStore keeps one file per record under a directory.
func ExampleNewFileStore() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	st, err := session.NewFileStore(filepath.Join(dir, "sessions"))
	if err != nil {
		panic(err)
	}
	ctx, now := context.Background(), time.Now()
	err = st.Set(ctx, "session", "c2Vzc2lvbi1pZA", []byte(`["ciphertext"]`), store.SetOptions{TTL: time.Hour, Now: now})
	if err != nil {
		panic(err)
	}
	v, err := st.Get(ctx, "session", "c2Vzc2lvbi1pZA", store.GetOptions{Now: now})
	fmt.Println(string(v), err)
	_, err = st.Get(ctx, "session", "c2Vzc2lvbi1pZA", store.GetOptions{Now: now.Add(2 * time.Hour)})
	fmt.Println("two hours later:", errors.Is(err, session.ErrNotFound))
	// Output:
	// ["ciphertext"] <nil>
	// two hours later: true
}

// With StoreMetadata the store keeps an index of the sessions of each
// subject: list them, and log a user out everywhere.
func ExampleManager_RevokeSessions() {
	st, err := session.NewMemoryStore()
	if err != nil {
		panic(err)
	}
	m, err := session.New(session.Config{
		Secret:        "change me",
		Store:         st,
		StoreMetadata: true,
	})
	if err != nil {
		panic(err)
	}
	login := func(subject string) {
		s, err := m.Open(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
		if err != nil {
			panic(err)
		}
		s.SetSubject(subject)
		if err := s.Save(); err != nil {
			panic(err)
		}
	}
	login("alice") // on her laptop
	login("alice") // on her phone
	login("bob")

	ctx := context.Background()
	sessions, _ := m.Sessions(ctx, "alice")
	fmt.Println("alice has", len(sessions), "sessions")
	n, err := m.RevokeSessions(ctx, "alice")
	fmt.Println("revoked", n, err)
	sessions, _ = m.Sessions(ctx, "bob")
	fmt.Println("bob has", len(sessions), "session")
	// Output:
	// alice has 2 sessions
	// revoked 2 <nil>
	// bob has 1 session
}
