package memcachedstore_test

import (
	"testing"
	"time"

	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
)

// TestConformance runs the store suite against memcached. The server that
// scripts/services.sh starts holds items up to 32 MiB (-I 32m), so the
// suite's default 16 MiB value fits.
func TestConformance(t *testing.T) {
	t.Parallel()
	conformance.TestStore(t, func(t *testing.T) session.Store {
		s, _ := newStore(t)
		return s
	}, &conformance.StoreOptions{Wait: time.Sleep})
}
