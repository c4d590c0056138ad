package session

import (
	"fmt"
	"time"

	"github.com/sessiongo/session/core/store"
)

// Store is the storage interface: set Config.Store to one to keep the
// encrypted session data on the server, the cookie then holding only the
// session's header. MemoryStore and FileStore are built in; the Redis,
// Memcached and SQL stores live in modules of their own under stores/. See
// package github.com/sessiongo/session/core/store to write one.
type Store = store.Store

// DefaultMemoryStoreMaxEntries is the number of records a MemoryStore holds
// unless WithMaxEntries says otherwise.
const DefaultMemoryStoreMaxEntries = 100_000

// StoreOption configures the built-in stores, NewMemoryStore and
// NewFileStore. An option that does not apply to the store it is given to
// (WithMaxEntries to a file store, WithSync to a memory store), or one with
// a bad value, makes the constructor return an error matching
// ErrInvalidConfig.
type StoreOption func(*storeOptions)

// storeOptions collects the StoreOptions given to a constructor.
type storeOptions struct {
	maxEntries int
	cleanup    time.Duration
	clock      func() time.Time
	sync       bool
	memoryOnly []string // options given that only the memory store takes
	fileOnly   []string // options given that only the file store takes
	bad        []string // options given with a bad value, and why

	file fileOptions // the file store's own options (file_options.go)
}

// WithMaxEntries bounds the number of records of a MemoryStore (default
// DefaultMemoryStoreMaxEntries; 0 means the default, a negative n is an
// error). When the store is full, a write first drops expired records, then
// the least recently used anonymous one (a session without a subject, see
// store.SetOptions.Anonymous). Only a signed-in session's write evicts the
// least recently used signed-in session; an anonymous write into a store
// full of signed-in sessions fails with an error matching ErrStore instead,
// so that anonymous traffic can never log users out. Size it for the
// signed-in sessions you expect (each record counts, a remember cookie's
// too) plus the anonymous ones. The records are spread over up to 32
// shards, each holding its share of the bound, so eviction may start a
// little before n records are stored in total.
//
// It applies to NewMemoryStore only.
func WithMaxEntries(n int) StoreOption {
	return func(o *storeOptions) {
		o.memoryOnly = append(o.memoryOnly, "WithMaxEntries")
		if n < 0 {
			o.bad = append(o.bad, fmt.Sprintf("WithMaxEntries(%d): negative number of records", n))
			return
		}
		o.maxEntries = n
	}
}

// WithCleanupInterval, when d is positive, starts a goroutine that removes
// expired records and index entries every d (and, in a FileStore, stale
// temporary files); the store's Stop ends it. The default, 0, starts none:
// expired records are then removed when they are read and, in a
// MemoryStore, whenever a write lands in their shard, in a FileStore index
// entries whenever their index is read or found mostly dead by a write. A
// negative d is an error.
func WithCleanupInterval(d time.Duration) StoreOption {
	return func(o *storeOptions) {
		if d < 0 {
			o.bad = append(o.bad, fmt.Sprintf("WithCleanupInterval(%v): negative interval", d))
			return
		}
		o.cleanup = d
	}
}

// WithClock sets the clock of the cleaner goroutine, also used when an
// operation's Now is zero; time.Now by default. Give it the session
// library's Config.Clock when that is not the wall clock. A nil clock is an
// error.
func WithClock(now func() time.Time) StoreOption {
	return func(o *storeOptions) {
		if now == nil {
			o.bad = append(o.bad, "WithClock(nil): nil clock")
			return
		}
		o.clock = now
	}
}

// WithSync makes a FileStore flush every file to stable storage before it
// is renamed into place, so that a record survives a power failure. Off by
// default: writes are atomic either way.
//
// It applies to NewFileStore only.
func WithSync() StoreOption {
	return func(o *storeOptions) {
		o.fileOnly = append(o.fileOnly, "WithSync")
		o.sync = true
	}
}

// newStoreOptions applies opts for the store called what ("memory store"
// or "file store"), which takes the options of the memory store when
// memory is set and those of the file store otherwise, and returns the
// first error: a bad value, or an option of the other store.
func newStoreOptions(what string, memory bool, opts []StoreOption) (storeOptions, error) {
	o := storeOptions{clock: time.Now}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if len(o.bad) > 0 {
		return o, configError("%s: %s", what, o.bad[0])
	}
	if memory && len(o.fileOnly) > 0 {
		return o, configError("%s: %s applies to the file store only", what, o.fileOnly[0])
	}
	if !memory && len(o.memoryOnly) > 0 {
		return o, configError("%s: %s applies to the memory store only", what, o.memoryOnly[0])
	}
	return o, nil
}
