package redisstore_test

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessiongo/session/conformance"
)

// TestRevocationOutage runs the store as the revocation backend of cookie
// sessions on a redis-server of the test's own, which the rule kills or
// freezes in the middle of a request: FailClosed and FailOpen, and the
// cache of lookups (hits, expiry, cached failures) counted on this server.
// The client's own timeouts are a minute, far past the rule's margin, and
// it does not retry, so that every lookup is one exchange.
func TestRevocationOutage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		breakIt func(t *testing.T, p *os.Process)
	}{
		{"stopped", func(t *testing.T, p *os.Process) { p.Kill(); waitState(t, p, "Z") }},
		{"frozen", func(t *testing.T, p *os.Process) { p.Signal(syscall.SIGSTOP); waitState(t, p, "T") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, proc := throwawayRedis(t)
			c := redis.NewClient(&redis.Options{
				Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1,
				DialTimeout: time.Minute, ReadTimeout: time.Minute, WriteTimeout: time.Minute, PoolTimeout: time.Minute,
			})
			defer c.Close()
			conformance.TestRevocationOutage(t, mustNew(t, c), func() { tt.breakIt(t, proc) })
		})
	}
}
