package session

import (
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrentRequestsAcrossSave plays the race that StaleTTL exists
// for: two requests carry the same cookie, one saves (new id, new record)
// while the other is still in flight or starts after it. Both must succeed
// within StaleTTL, and the previous cookie must fail after it.
func TestConcurrentRequestsAcrossSave(t *testing.T) {
	stores := []struct {
		name string
		new  func(t *testing.T) Store
	}{
		{"memory", func(t *testing.T) Store { return newTestMemoryStore(t) }},
		{"file", func(t *testing.T) Store {
			st, err := NewFileStore(filepath.Join(t.TempDir(), "s"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
	}
	// request opens the session of jar, sets n and saves it; it returns the
	// browser's jar after the response.
	request := func(t *testing.T, m *Manager, jar stJar, n int, between func()) (stJar, error) {
		out := jar.clone()
		var err error
		out.serve(t, func(w http.ResponseWriter, r *http.Request) {
			var s *Session
			if s, err = openHTTP(m, w, r); err != nil {
				return
			}
			if between != nil {
				between()
			}
			s.Set("n", n)
			err = s.Save()
		})
		return out, err
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			for _, order := range []string{"second opens after the first saved", "both in flight"} {
				t.Run(order, func(t *testing.T) {
					clock := newStoreClock()
					m := stManager(t, st.new(t), clock, func(c *Config) { c.Remember = false })
					jar := stLogin(t, m, "alice")

					var jarA, jarB stJar
					var errA, errB error
					if order == "both in flight" {
						// Both open before either saves, then both save.
						var opened, wg sync.WaitGroup
						opened.Add(2)
						wg.Add(2)
						barrier := func() { opened.Done(); opened.Wait() }
						go func() { defer wg.Done(); jarA, errA = request(t, m, jar, 1, barrier) }()
						go func() { defer wg.Done(); jarB, errB = request(t, m, jar, 2, barrier) }()
						wg.Wait()
					} else {
						jarA, errA = request(t, m, jar, 1, nil)
						clock.Add(5 * time.Second)
						jarB, errB = request(t, m, jar, 2, nil)
					}
					if errA != nil || errB != nil {
						t.Fatalf("requests with the same cookie across a save: %v, %v; want both to succeed within StaleTTL", errA, errB)
					}
					if jarA[m.CookieName()] == jar[m.CookieName()] || jarB[m.CookieName()] == jarA[m.CookieName()] {
						t.Fatal("the saves did not issue new cookies")
					}
					clock.Add(4 * time.Second) // still within StaleTTL of the first save
					if err := stOpenErr(t, m, jar); err != nil {
						t.Fatalf("the previous cookie within StaleTTL of the first save: %v, want it to open", err)
					}
					clock.Add(DefaultStaleTTL)
					if err := stOpenErr(t, m, jar); !errors.Is(err, ErrNotFound) {
						t.Fatalf("the previous cookie after StaleTTL: %v, want ErrNotFound", err)
					}
					for i, j := range []stJar{jarA, jarB} {
						if err := stOpenErr(t, m, j); err != nil {
							t.Fatalf("the cookie of save %d after StaleTTL: %v", i+1, err)
						}
					}
				})
			}
		})
	}
}
