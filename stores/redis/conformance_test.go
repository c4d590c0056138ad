package redisstore_test

import (
	"testing"
	"time"

	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
)

// TestConformance runs the store suite against the single Redis, the
// Sentinel master (through a failover client) and the Redis Cluster.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			conformance.TestStore(t, func(t *testing.T) session.Store {
				s, _ := newStore(t, m)
				return s
			}, &conformance.StoreOptions{Wait: time.Sleep})
		})
	}
}
