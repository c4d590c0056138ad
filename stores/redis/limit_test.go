package redisstore_test

import "testing"

// TestLimitsSessions checks which deployments cap sessions atomically: the
// single server and the Sentinel master (one script call per login), not
// the Redis Cluster (the subject's index and its records span slots). The
// conformance rule limit_concurrent (TestConformance) runs only where this
// is true, logging one user in from many browsers at once: exactly the cap
// of sessions left (ending the oldest), or of logins saved (refusing).
func TestLimitsSessions(t *testing.T) {
	t.Parallel()
	for _, m := range saveModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t, m)
			if got, want := s.LimitsSessions(), m.name != "cluster"; got != want {
				t.Fatalf("LimitsSessions() = %v; want %v", got, want)
			}
		})
	}
}
