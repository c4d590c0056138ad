package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// Op names a store operation that FaultyStore can make fail.
type Op int

// The operations of session.Store and store.SubjectIndex.
const (
	OpGet Op = iota + 1
	OpSet
	OpDelete
	OpSessions
)

// String returns the method name of op.
func (op Op) String() string {
	switch op {
	case OpGet:
		return "Get"
	case OpSet:
		return "Set"
	case OpDelete:
		return "Delete"
	case OpSessions:
		return "Sessions"
	}
	return fmt.Sprintf("Op(%d)", int(op))
}

// FaultyStore wraps a session.Store and makes chosen operations fail, to
// test error paths: how an application (or the session library) reacts
// when the store is down. Operations that are not set to fail go to the
// wrapped store. It is safe for concurrent use.
//
//	st, _ := session.NewMemoryStore() // or your own store
//	faulty := conformance.NewFaultyStore(st)
//	m, _ := session.New(session.Config{Secret: secret, Store: faulty})
//	faulty.Fail(conformance.OpGet, errors.New("connection refused"))
//	// m.Open(w, r) of a request with a session cookie now fails with an
//	// error matching session.ErrStore.
//
// FaultyStore always implements store.SubjectIndex; when the wrapped
// store does not, Sessions returns an error matching errors.ErrUnsupported.
type FaultyStore struct {
	inner session.Store

	mu     sync.Mutex
	faults map[Op]error
	calls  map[Op]int
}

// NewFaultyStore returns a FaultyStore around inner, with no faults set.
func NewFaultyStore(inner session.Store) *FaultyStore {
	return &FaultyStore{inner: inner, faults: map[Op]error{}, calls: map[Op]int{}}
}

// Fail makes every later call of op return err without reaching the
// wrapped store; a nil err makes op work again.
func (f *FaultyStore) Fail(op Op, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.faults, op)
		return
	}
	f.faults[op] = err
}

// FailAll makes every later call of every operation (OpGet, OpSet,
// OpDelete and OpSessions) return err: a store that is down. A nil err is
// Reset.
func (f *FaultyStore) FailAll(err error) {
	for _, op := range []Op{OpGet, OpSet, OpDelete, OpSessions} {
		f.Fail(op, err)
	}
}

// Reset makes every operation work again.
func (f *FaultyStore) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.faults)
}

// Calls returns how many times op was called, failed calls included.
func (f *FaultyStore) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Unwrap returns the wrapped store.
func (f *FaultyStore) Unwrap() session.Store { return f.inner }

// call counts a call of op and returns its fault, if any.
func (f *FaultyStore) call(op Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	return f.faults[op]
}

// Get fails with the fault set for OpGet, or calls the wrapped store.
func (f *FaultyStore) Get(ctx context.Context, name, key string, opts store.GetOptions) ([]byte, error) {
	if err := f.call(OpGet); err != nil {
		return nil, err
	}
	return f.inner.Get(ctx, name, key, opts)
}

// Set fails with the fault set for OpSet, or calls the wrapped store.
func (f *FaultyStore) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	if err := f.call(OpSet); err != nil {
		return err
	}
	return f.inner.Set(ctx, name, key, value, opts)
}

// Delete fails with the fault set for OpDelete, or calls the wrapped
// store.
func (f *FaultyStore) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	if err := f.call(OpDelete); err != nil {
		return err
	}
	return f.inner.Delete(ctx, name, key, opts)
}

// Sessions fails with the fault set for OpSessions, or calls the wrapped
// store's subject index.
func (f *FaultyStore) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]store.IndexEntry, error) {
	if err := f.call(OpSessions); err != nil {
		return nil, err
	}
	idx, ok := f.inner.(store.SubjectIndex)
	if !ok {
		return nil, fmt.Errorf("conformance: the wrapped store keeps no subject index: %w", errors.ErrUnsupported)
	}
	return idx.Sessions(ctx, name, audience, subject, now)
}

var (
	_ session.Store      = (*FaultyStore)(nil)
	_ store.SubjectIndex = (*FaultyStore)(nil)
)
