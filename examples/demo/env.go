package demo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// TestSecret is the secret the examples' tests configure.
const TestSecret = "demo-test-secret"

// OutageHost is the address named by the error of a failing Backend, as a
// real client's error names its server. It must reach the log, never the
// client.
const OutageHost = "10.20.30.40:6379"

// errOutage is what a failing Backend returns.
var errOutage = errors.New("dial tcp " + OutageHost + ": connect: connection refused")

// Env is what an example's test injects into its Manager so that Exercise
// can drive it: a clock that moves only when told, a revocation backend that
// fails when told, and the log it reads.
type Env struct {
	// Clock is the Manager's clock (Config.Clock).
	Clock *Clock
	// Backend is the revocation backend (Config.Revocation).
	Backend *Backend
	// Log receives what the Manager's logger (Config.Logger) writes.
	Log *Log
}

// NewEnv returns an Env whose clock stands at the current second and whose
// backend is an empty memory store that works.
func NewEnv() (*Env, error) {
	st, err := session.NewMemoryStore()
	if err != nil {
		return nil, err
	}
	// The cookie jar expires cookies on the real clock: start there.
	return &Env{
		Clock:   &Clock{t: time.Now().Truncate(time.Second)},
		Backend: &Backend{rev: st},
		Log:     &Log{},
	}, nil
}

// Configure returns cfg with the Env's clock and logger. Set the Env's
// Backend as cfg.Revocation before.
func (e *Env) Configure(cfg session.Config) session.Config {
	cfg.Clock = e.Clock.Now
	cfg.Logger = slog.New(slog.NewTextHandler(e.Log, nil))
	return cfg
}

// Clock is a clock that moves only when told; it is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Backend is a revocation backend (an in-process memory store) whose reads
// (Revoked) and writes (Revoke) fail, as in an outage, when told to. It
// implements store.Revoker.
type Backend struct {
	rev                   store.Revoker
	failReads, failWrites atomic.Bool
}

// Fail makes reads, writes, both or neither fail from now on.
func (b *Backend) Fail(reads, writes bool) {
	b.failReads.Store(reads)
	b.failWrites.Store(writes)
}

// Revoke writes marks, or fails while writes fail.
func (b *Backend) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	if b.failWrites.Load() {
		return errOutage
	}
	return b.rev.Revoke(ctx, marks, now)
}

// Revoked looks marks up, or fails while reads fail.
func (b *Backend) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	if b.failReads.Load() {
		return nil, errOutage
	}
	return b.rev.Revoked(ctx, keys, now)
}

// Log collects log output; it is safe for concurrent use.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the log.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was logged.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
