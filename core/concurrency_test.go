package session

import (
	"fmt"
	"sync"
	"testing"
)

// TestManagerConcurrentUse runs many requests at once through one Manager,
// with cookie storage and with the memory store; -race checks the rest.
func TestManagerConcurrentUse(t *testing.T) {
	for _, tt := range []struct {
		name  string
		store func() Store
	}{
		{"cookie", func() Store { return nil }},
		{"memory", func() Store { return newTestMemoryStore(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := mustNew(t, Config{Secret: "s", Store: tt.store(), Remember: true, RememberSafety: "Low", Bind: []Binding{"ip"}})
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for g := 0; g < 16; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 20; i++ {
						r := newRecorder("")
						r.remoteAddr = "192.0.2.1"
						s := m.NewSession(r)
						s.Set("n", float64(g*100+i))
						if err := s.Save(); err != nil {
							errs <- err
							return
						}
						r2 := newRecorder(joinCookies(r.setCookies))
						r2.remoteAddr = "192.0.2.1"
						s2 := m.NewSession(r2)
						if err := s2.Open(); err != nil {
							errs <- err
							return
						}
						if got := s2.Get("n"); got != float64(g*100+i) {
							errs <- fmt.Errorf("goroutine %d read %v, want %d", g, got, g*100+i)
							return
						}
						if err := s2.Refresh(); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
