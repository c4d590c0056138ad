package redisstore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// TestMaxSessionsPerSubjectConcurrent logs one user in from many browsers
// at once: on a single server the cap is one script call, so exactly N
// sessions are left (ending the oldest), or exactly N logins succeed
// (refusing the others).
func TestMaxSessionsPerSubjectConcurrent(t *testing.T) {
	t.Parallel()
	const limit, logins = 3, 40
	for _, refuse := range []bool{false, true} {
		t.Run(map[bool]string{false: "end oldest", true: "refuse"}[refuse], func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t, modes[0])
			m, err := session.New(session.Config{
				Secret: "redis limit test secret", Store: s, StoreMetadata: true,
				Remember: true, RememberSafety: "None",
				MaxSessionsPerSubject: limit, RefuseOverLimit: refuse,
			})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, logins)
			for i := range logins {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := httptest.NewRequest(http.MethodPost, "http://example.com/login", nil)
					sess := m.NewSession(adapter.NewHTTP(httptest.NewRecorder(), r))
					sess.SetSubject("alice")
					errs[i] = sess.Save()
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !refuse && errors.Is(err, session.ErrNotFound):
					// Ended as the oldest by a concurrent login between the
					// writes of its session and remember records.
				case !refuse || !errors.Is(err, session.ErrSessionLimit):
					t.Fatalf("a login failed: %v", err)
				}
			}
			if refuse && ok != limit {
				t.Fatalf("%d logins succeeded, want exactly %d", ok, limit)
			}
			entries, err := m.Sessions(context.Background(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			records := map[bool]int{}
			for _, e := range entries {
				records[e.Remember]++
			}
			if records[false] != limit || records[true] != limit {
				t.Fatalf("after %d concurrent logins: %d session and %d remember records, want %d of each",
					logins, records[false], records[true], limit)
			}
			ds, err := m.Devices(context.Background(), "alice")
			if err != nil || len(ds) != limit {
				t.Fatalf("Devices = %d devices, %v; want %d", len(ds), err, limit)
			}
		})
	}
}
