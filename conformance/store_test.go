package conformance

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

func TestStoreMemory(t *testing.T) {
	TestStore(t, func(t *testing.T) session.Store { return newMemoryStore(t) }, nil)
}

func TestStoreFile(t *testing.T) {
	TestStore(t, func(t *testing.T) session.Store {
		st, err := session.NewFileStore(filepath.Join(t.TempDir(), "sessions"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}, nil)
}

// TestStoreWait runs the Wait variant of the suite, the one servers with
// their own clock use, on memory stores that ignore the Now they are given
// and keep time as a server on a busy machine may: one counts whole seconds
// (a record ends up to a second early, as on memcached), one sees expiry
// two seconds late (as a server whose clock ticks late), which the rules
// must wait for.
func TestStoreWait(t *testing.T) {
	if testing.Short() {
		t.Skip("waits a few seconds of real time")
	}
	t.Parallel()
	for _, clock := range []serverClockStore{
		{name: "whole_seconds", truncate: time.Second},
		{name: "late_expiry", lag: 2 * time.Second},
	} {
		t.Run(clock.name, func(t *testing.T) {
			t.Parallel()
			TestStore(t, func(t *testing.T) session.Store {
				st := clock
				st.MemoryStore = newMemoryStore(t)
				return st
			}, &StoreOptions{Wait: time.Sleep, MaxValueSize: 1 << 20})
		})
	}
}

// TestStoreSkipIndex checks that a store without a subject index passes
// with SkipIndex.
func TestStoreSkipIndex(t *testing.T) {
	TestStore(t, func(t *testing.T) session.Store {
		return noIndex{newMemoryStore(t)}
	}, &StoreOptions{SkipIndex: true, MaxValueSize: 1 << 10})
}

// limiterStore is a memory store that caps sessions as a
// store.SessionLimiter must, under one lock around every write, so that
// limit_concurrent runs on it; limited counts the Sets it capped.
type limiterStore struct {
	*session.MemoryStore
	mu      *sync.Mutex
	limited *atomic.Int64
}

// LimitsSessions reports true: Set caps logins.
func (limiterStore) LimitsSessions() bool { return true }

// Set caps a login's save with opts.Limit, in one step with the write.
func (s limiterStore) Set(ctx context.Context, name, key string, v []byte, o store.SetOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.Limit > 0 {
		md := o.Metadata
		if md == nil || len(md.Audiences) != 1 || o.OldKey != "" || !o.Partner.IsZero() {
			return errors.New("limiterStore: a cap on a Set that is not a login's")
		}
		s.limited.Add(1)
		entries, err := s.Sessions(ctx, name, md.Audiences[0], md.Subjects[0], o.Now)
		if err != nil {
			return err
		}
		entries = slices.DeleteFunc(entries, func(e store.IndexEntry) bool { return e.Key == key })
		if len(entries) >= o.Limit {
			if o.LimitRefuse {
				return store.ErrSessionLimit
			}
			slices.SortStableFunc(entries, func(a, b store.IndexEntry) int { return a.Expires.Compare(b.Expires) })
			for _, e := range entries[:len(entries)-o.Limit+1] {
				if err := s.MemoryStore.Delete(ctx, name, e.Key, store.DeleteOptions{Now: o.Now, Metadata: md}); err != nil {
					return err
				}
			}
		}
		o.Limit, o.LimitRefuse = 0, false
	}
	return s.MemoryStore.Set(ctx, name, key, v, o)
}

// Delete deletes under the lock of Set.
func (s limiterStore) Delete(ctx context.Context, name, key string, o store.DeleteOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.MemoryStore.Delete(ctx, name, key, o)
}

// TestStoreLimiter runs the suite on a store that caps sessions itself, so
// that limit_concurrent runs (the memory and file stores skip it).
func TestStoreLimiter(t *testing.T) {
	var limited atomic.Int64
	TestStore(t, func(t *testing.T) session.Store {
		return limiterStore{MemoryStore: newMemoryStore(t), mu: new(sync.Mutex), limited: &limited}
	}, &StoreOptions{MaxValueSize: 1 << 10})
	// limit_concurrent's logins, in both modes, and the sequential rules'.
	if n := limited.Load(); n < 2*concurrentLogins {
		t.Errorf("the store capped %d Sets; want limit_concurrent's %d at least", n, 2*concurrentLogins)
	}
}

// TestStoreSequential checks that with Sequential no two rules run at once:
// each rule's store is made after the previous rule's ended.
func TestStoreSequential(t *testing.T) {
	var live atomic.Int32
	TestStore(t, func(t *testing.T) session.Store {
		if n := live.Add(1); n != 1 {
			t.Errorf("newStore called while %d other rules run, with Sequential set", n-1)
		}
		t.Cleanup(func() { live.Add(-1) })
		return newMemoryStore(t)
	}, &StoreOptions{Sequential: true, MaxValueSize: 1 << 10})
}

// serverClockStore replaces the Now of every call by the wall clock, as a
// server with its own clock does: truncated to truncate when it sets a
// record (its expiry then counts from the last whole second), lag behind
// when it reads (records and index entries expire lag late).
type serverClockStore struct {
	*session.MemoryStore
	name     string
	truncate time.Duration
	lag      time.Duration
}

func (s serverClockStore) setNow() time.Time { return time.Now().Truncate(s.truncate) }

func (s serverClockStore) readNow() time.Time { return time.Now().Add(-s.lag) }

func (s serverClockStore) Get(ctx context.Context, name, key string, o store.GetOptions) ([]byte, error) {
	o.Now = s.readNow()
	return s.MemoryStore.Get(ctx, name, key, o)
}

func (s serverClockStore) Set(ctx context.Context, name, key string, v []byte, o store.SetOptions) error {
	o.Now = s.setNow()
	return s.MemoryStore.Set(ctx, name, key, v, o)
}

func (s serverClockStore) Delete(ctx context.Context, name, key string, o store.DeleteOptions) error {
	o.Now = s.readNow()
	return s.MemoryStore.Delete(ctx, name, key, o)
}

func (s serverClockStore) Sessions(ctx context.Context, name, aud, sub string, _ time.Time) ([]store.IndexEntry, error) {
	return s.MemoryStore.Sessions(ctx, name, aud, sub, s.readNow())
}

// noIndex is a store without a subject index.
type noIndex struct{ session.Store }

// Deliberately broken stores. Each wraps a memory store and breaks one
// part of the contract; TestStoreCatchesBrokenStores checks that the suite
// fails exactly the rules they break (at least), and still passes the
// basic ones.
type brokenStore struct {
	session.Store
	mode string
}

// Sessions forwards to the wrapped store's index.
func (b *brokenStore) Sessions(ctx context.Context, name, aud, sub string, now time.Time) ([]store.IndexEntry, error) {
	return b.Store.(store.SubjectIndex).Sessions(ctx, name, aud, sub, now)
}

func (b *brokenStore) Get(ctx context.Context, name, key string, o store.GetOptions) ([]byte, error) {
	switch b.mode {
	case "shared_keyspace":
		name = "one"
	case "not_found_on_cancel":
		if ctx.Err() != nil {
			return nil, session.ErrNotFound
		}
	}
	v, err := b.Store.Get(ctx, name, key, o)
	if b.mode == "swallows_errors" && err != nil {
		return nil, nil
	}
	return v, err
}

func (b *brokenStore) Set(ctx context.Context, name, key string, v []byte, o store.SetOptions) error {
	switch b.mode {
	case "ignores_ttl":
		o.TTL = 1000 * time.Hour
	case "ignores_old_key":
		o.OldKey = ""
	case "shared_keyspace":
		name = "one"
	case "swallows_errors":
		if len(v) > 1<<20 { // a backend item limit, hidden
			return nil
		}
	case "index_ignores_metadata":
		o.Metadata = nil
	case "ignores_limit":
		o.Limit, o.LimitRefuse = 0, false
	case "truncates":
		if len(v) > 100 {
			v = v[:100]
		}
	}
	return b.Store.Set(ctx, name, key, v, o)
}

func (b *brokenStore) Delete(ctx context.Context, name, key string, o store.DeleteOptions) error {
	switch b.mode {
	case "delete_missing_errors":
		if _, err := b.Store.Get(ctx, name, key, store.GetOptions{Now: o.Now}); err != nil {
			return errors.New("no such key")
		}
	case "shared_keyspace":
		name = "one"
	}
	return b.Store.Delete(ctx, name, key, o)
}

var brokenStores = []struct {
	mode     string
	mustFail []string // rules the broken store breaks
}{
	{"ignores_ttl", []string{"ttl_expiry", "stale_ttl_only_shortens", "index_prune"}},
	{"ignores_old_key", []string{"stale_ttl", "stale_ttl_zero", "index_replaced_key", "session_life_cycle"}},
	{"swallows_errors", []string{"get_missing", "large_value", "ttl_expiry"}},
	{"truncates", []string{"large_value", "binary_values", "cancelled_context", "concurrent_writers"}},
	{"delete_missing_errors", []string{"delete_missing"}},
	{"shared_keyspace", []string{"names_and_keys_apart"}},
	{"not_found_on_cancel", []string{"cancelled_context"}},
	{"index_ignores_metadata", []string{"index_add_list", "index_prune", "index_delete", "session_life_cycle"}},
	{"ignores_limit", []string{"limit_end_oldest", "limit_refuse", "limit_concurrent"}},
}

// mustPass are rules every broken store above still passes, so a failure
// is the rule's own, not a suite that fails everything.
var mustPass = []string{"set_get", "overwrite", "storage_keys"}

const brokenEnv = "SESSIONGO_CONFORMANCE_BROKEN_STORE"

// TestBrokenStoreHelper runs the suite on the broken store named by the
// environment, in the subprocess that TestStoreCatchesBrokenStores starts.
func TestBrokenStoreHelper(t *testing.T) {
	mode := os.Getenv(brokenEnv)
	if mode == "" {
		t.Skip("runs in a subprocess of TestStoreCatchesBrokenStores")
	}
	TestStore(t, func(t *testing.T) session.Store {
		b := &brokenStore{Store: newMemoryStore(t), mode: mode}
		if mode == "ignores_limit" {
			return limitClaimer{b}
		}
		return b
	}, &StoreOptions{MaxValueSize: 2 << 20})
}

// limitClaimer is a broken store that claims to cap sessions itself, so
// that the session library leaves the cap to it.
type limitClaimer struct{ *brokenStore }

// LimitsSessions claims what the store does not do.
func (limitClaimer) LimitsSessions() bool { return true }

var resultLine = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): TestBrokenStoreHelper/(\S+)`)

func TestStoreCatchesBrokenStores(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("inside the subprocess")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	var mu sync.Mutex // runs two subprocesses at a time
	sem := make(chan struct{}, 2)
	for _, b := range brokenStores {
		t.Run(b.mode, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command(exe, "-test.run=^TestBrokenStoreHelper$", "-test.v", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), brokenEnv+"="+b.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store that %s:\n%s", b.mode, out)
			}
			results := map[string]string{}
			for _, m := range resultLine.FindAllStringSubmatch(string(out), -1) {
				results[m[2]] = m[1]
			}
			mu.Lock()
			defer mu.Unlock()
			for _, rule := range b.mustFail {
				if results[rule] != "FAIL" {
					t.Errorf("rule %s: %q, want FAIL for a store that %s", rule, results[rule], b.mode)
					continue
				}
				r := findRule(rule)
				if rule == "session_life_cycle" {
					continue // its steps quote the sentence each one tests
				}
				if !regexp.MustCompile(regexp.QuoteMeta(`breaks the Store contract: "` + r.contract[:40])).Match(out) {
					t.Errorf("rule %s failed without quoting its contract sentence %q", rule, r.contract)
				}
			}
			for _, rule := range mustPass {
				if results[rule] != "PASS" {
					t.Errorf("rule %s: %q, want PASS (the store breaks only %s)", rule, results[rule], b.mode)
				}
			}
			if t.Failed() {
				t.Logf("subprocess output:\n%s", out)
			}
		})
	}
}

func findRule(name string) *storeRule {
	i := slices.IndexFunc(storeRules, func(r *storeRule) bool { return r.name == name })
	return storeRules[i]
}

// TestRuleNamesUnique keeps subtest names distinct and contract sentences
// quoted.
func TestRuleNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range storeRules {
		if seen[r.name] || r.contract == "" || r.run == nil {
			t.Errorf("rule %q: duplicate, or without contract or check", r.name)
		}
		seen[r.name] = true
	}
}

func TestFaultyStore(t *testing.T) {
	ctx := context.Background()
	f := NewFaultyStore(newMemoryStore(t))
	fault := errors.New("down")
	opts := store.SetOptions{TTL: time.Minute, Now: time.Now()}
	tests := []struct {
		op   Op
		call func() error
	}{
		{OpSet, func() error { return f.Set(ctx, "n", "k", []byte("v"), opts) }},
		{OpGet, func() error { _, err := f.Get(ctx, "n", "k", store.GetOptions{Now: opts.Now}); return err }},
		{OpSessions, func() error { _, err := f.Sessions(ctx, "n", "a", "s", opts.Now); return err }},
		{OpDelete, func() error { return f.Delete(ctx, "n", "k", store.DeleteOptions{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.op.String(), func(t *testing.T) {
			f.Fail(tt.op, fault)
			if err := tt.call(); !errors.Is(err, fault) {
				t.Fatalf("%v with a fault: %v, want the fault", tt.op, err)
			}
			f.Fail(tt.op, nil)
			if err := tt.call(); err != nil {
				t.Fatalf("%v without a fault: %v", tt.op, err)
			}
			if n := f.Calls(tt.op); n != 2 {
				t.Fatalf("Calls(%v) = %d, want 2", tt.op, n)
			}
		})
	}
	t.Run("FailAll", func(t *testing.T) {
		f.FailAll(fault)
		for _, tt := range tests {
			if err := tt.call(); !errors.Is(err, fault) {
				t.Errorf("%v after FailAll: %v, want the fault", tt.op, err)
			}
		}
		f.Reset()
		for _, tt := range tests {
			if err := tt.call(); err != nil {
				t.Errorf("%v after Reset: %v", tt.op, err)
			}
		}
	})
	if _, err := NewFaultyStore(noIndex{newMemoryStore(t)}).Sessions(ctx, "n", "a", "s", time.Now()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Sessions of a store without index: %v, want errors.ErrUnsupported", err)
	}
	if Op(9).String() != "Op(9)" || f.Unwrap() == nil {
		t.Fatal("Op.String or Unwrap")
	}
}
