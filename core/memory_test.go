package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

var stT0 = time.Unix(1_700_000_000, 0)

// newTestMemoryStore returns a MemoryStore made with opts, stopped at the
// end of the test.
func newTestMemoryStore(t testing.TB, opts ...StoreOption) *MemoryStore {
	t.Helper()
	st, err := NewMemoryStore(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	return st
}

func stAt(d time.Duration) time.Time { return stT0.Add(d) }

// stGet fails unless name/key holds want at now.
func stGet(t *testing.T, st Store, name, key string, now time.Time, want string) {
	t.Helper()
	got, err := st.Get(context.Background(), name, key, store.GetOptions{Now: now})
	if err != nil {
		t.Fatalf("Get(%s, %s) at %v: %v, want %q", name, key, now.Sub(stT0), err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%s, %s) = %q, want %q", name, key, got, want)
	}
}

// stMiss fails unless name/key is missing at now.
func stMiss(t *testing.T, st Store, name, key string, now time.Time) {
	t.Helper()
	got, err := st.Get(context.Background(), name, key, store.GetOptions{Now: now})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(%s, %s) at %v = %q, %v; want ErrNotFound", name, key, now.Sub(stT0), got, err)
	}
}

func stSet(t *testing.T, st Store, name, key, value string, opts store.SetOptions) {
	t.Helper()
	if err := st.Set(context.Background(), name, key, []byte(value), opts); err != nil {
		t.Fatalf("Set(%s, %s): %v", name, key, err)
	}
}

func stIndexKeys(t *testing.T, st Store, name, aud, sub string, now time.Time) []string {
	t.Helper()
	entries, err := st.(store.SubjectIndex).Sessions(context.Background(), name, aud, sub, now)
	if err != nil {
		t.Fatalf("Sessions: %v", err)
	}
	keys := []string{}
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	return keys
}

func stSameStrings(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

// stBehaviour runs the store rules that core's own stores share; the
// conformance module runs the full suite on them as well.
func stBehaviour(t *testing.T, newStore func(t *testing.T) Store) {
	md := &store.Metadata{Audiences: []string{"YXVk"}, Subjects: []string{"c3Vi"}}
	tests := []struct {
		name string
		run  func(t *testing.T, st Store)
	}{
		{"set get delete", func(t *testing.T, st Store) {
			stMiss(t, st, "session", "k", stAt(0))
			stSet(t, st, "session", "k", "v1", store.SetOptions{TTL: time.Minute, Now: stAt(0)})
			stGet(t, st, "session", "k", stAt(0), "v1")
			stSet(t, st, "session", "k", "v2", store.SetOptions{TTL: time.Minute, Now: stAt(0)})
			stGet(t, st, "session", "k", stAt(0), "v2")
			if err := st.Delete(context.Background(), "session", "k", store.DeleteOptions{Now: stAt(0)}); err != nil {
				t.Fatal(err)
			}
			stMiss(t, st, "session", "k", stAt(0))
			if err := st.Delete(context.Background(), "session", "k", store.DeleteOptions{Now: stAt(0)}); err != nil {
				t.Fatalf("deleting a missing record: %v", err)
			}
		}},
		{"names apart", func(t *testing.T, st Store) {
			stSet(t, st, "session", "k", "s", store.SetOptions{TTL: time.Minute, Now: stAt(0)})
			stSet(t, st, "remember", "k", "r", store.SetOptions{TTL: time.Minute, Now: stAt(0)})
			stGet(t, st, "session", "k", stAt(0), "s")
			stGet(t, st, "remember", "k", stAt(0), "r")
			st.Delete(context.Background(), "session", "k", store.DeleteOptions{})
			stGet(t, st, "remember", "k", stAt(0), "r")
		}},
		{"values are copied", func(t *testing.T, st Store) {
			v := []byte("abc")
			if err := st.Set(context.Background(), "n", "k", v, store.SetOptions{TTL: time.Minute, Now: stAt(0)}); err != nil {
				t.Fatal(err)
			}
			v[0] = 'X'
			got, _ := st.Get(context.Background(), "n", "k", store.GetOptions{Now: stAt(0)})
			got[1] = 'Y'
			stGet(t, st, "n", "k", stAt(0), "abc")
		}},
		{"binary values", func(t *testing.T, st Store) {
			v := make([]byte, 512)
			for i := range v {
				v[i] = byte(i)
			}
			stSet(t, st, "n", "k", string(v), store.SetOptions{TTL: time.Minute, Now: stAt(0)})
			stGet(t, st, "n", "k", stAt(0), string(v))
		}},
		{"ttl judged against now", func(t *testing.T, st Store) {
			stSet(t, st, "n", "k", "v", store.SetOptions{TTL: 10 * time.Second, Now: stAt(0)})
			stGet(t, st, "n", "k", stAt(9*time.Second), "v")
			stMiss(t, st, "n", "k", stAt(10*time.Second))
			stMiss(t, st, "n", "k", stAt(0)) // an expired record was removed on access
		}},
		{"stale ttl of the old key", func(t *testing.T, st Store) {
			stSet(t, st, "n", "old", "o", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
			stSet(t, st, "n", "new", "n", store.SetOptions{TTL: time.Hour, Now: stAt(0), OldKey: "old", StaleTTL: 10 * time.Second})
			stGet(t, st, "n", "old", stAt(9*time.Second), "o")
			stMiss(t, st, "n", "old", stAt(11*time.Second))
			stGet(t, st, "n", "new", stAt(11*time.Second), "n")
		}},
		{"stale ttl only shortens", func(t *testing.T, st Store) {
			stSet(t, st, "n", "old", "o", store.SetOptions{TTL: 5 * time.Second, Now: stAt(0)})
			stSet(t, st, "n", "new", "n", store.SetOptions{TTL: time.Hour, Now: stAt(0), OldKey: "old", StaleTTL: time.Minute})
			stGet(t, st, "n", "old", stAt(4*time.Second), "o")
			stMiss(t, st, "n", "old", stAt(6*time.Second))
		}},
		{"zero stale ttl drops the old key", func(t *testing.T, st Store) {
			stSet(t, st, "n", "old", "o", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
			stSet(t, st, "n", "new", "n", store.SetOptions{TTL: time.Hour, Now: stAt(0), OldKey: "old"})
			stMiss(t, st, "n", "old", stAt(0))
		}},
		{"subject index", func(t *testing.T, st Store) {
			stSet(t, st, "session", "a", "1", store.SetOptions{TTL: 10 * time.Second, Now: stAt(0), Metadata: md})
			stSet(t, st, "session", "b", "2", store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md})
			stSet(t, st, "remember", "c", "3", store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md})
			if got := stIndexKeys(t, st, "session", "YXVk", "c3Vi", stAt(0)); !stSameStrings(got, []string{"a", "b"}) {
				t.Fatalf("index = %v, want [a b] (soonest to expire first)", got)
			}
			entries, _ := st.(store.SubjectIndex).Sessions(context.Background(), "session", "YXVk", "c3Vi", stAt(0))
			if !entries[1].Expires.Equal(stAt(time.Hour)) {
				t.Fatalf("expiry of b = %v, want %v", entries[1].Expires, stAt(time.Hour))
			}
			if got := stIndexKeys(t, st, "session", "YXVk", "c3Vi", stAt(11*time.Second)); !stSameStrings(got, []string{"b"}) {
				t.Fatalf("index after a expired = %v, want [b]", got)
			}
			if got := stIndexKeys(t, st, "session", "YXVk", "b3RoZXI", stAt(0)); len(got) != 0 {
				t.Fatalf("index of another subject = %v, want none", got)
			}
			// A save replaces b with d: d is listed, b is not.
			stSet(t, st, "session", "d", "4", store.SetOptions{TTL: time.Hour, Now: stAt(0), OldKey: "b", StaleTTL: 10 * time.Second, Metadata: md})
			if got := stIndexKeys(t, st, "session", "YXVk", "c3Vi", stAt(time.Second)); !stSameStrings(got, []string{"d"}) {
				t.Fatalf("index after save = %v, want [d]", got)
			}
			if err := st.Delete(context.Background(), "session", "d", store.DeleteOptions{Now: stAt(0), Metadata: md}); err != nil {
				t.Fatal(err)
			}
			if got := stIndexKeys(t, st, "session", "YXVk", "c3Vi", stAt(time.Second)); len(got) != 0 {
				t.Fatalf("index after delete = %v, want none", got)
			}
			if got := stIndexKeys(t, st, "remember", "YXVk", "c3Vi", stAt(time.Second)); !stSameStrings(got, []string{"c"}) {
				t.Fatalf("remember index = %v, want [c]", got)
			}
		}},
		{"index drops deleted records", func(t *testing.T, st Store) {
			stSet(t, st, "session", "a", "1", store.SetOptions{TTL: time.Hour, Now: stAt(0), Metadata: md})
			st.Delete(context.Background(), "session", "a", store.DeleteOptions{Now: stAt(0)}) // no metadata
			if got := stIndexKeys(t, st, "session", "YXVk", "c3Vi", stAt(0)); len(got) != 0 {
				t.Fatalf("index = %v, want none: the record is gone", got)
			}
		}},
		{"bad input", func(t *testing.T, st Store) {
			ctx := context.Background()
			if err := st.Set(ctx, "n", "k", []byte("v"), store.SetOptions{Now: stAt(0)}); err == nil {
				t.Error("Set with no TTL: no error")
			}
			bad := &store.Metadata{Audiences: []string{"a", "b"}, Subjects: []string{"s"}}
			if err := st.Set(ctx, "n", "k", []byte("v"), store.SetOptions{TTL: time.Minute, Now: stAt(0), Metadata: bad}); err == nil {
				t.Error("Set with mismatched metadata: no error")
			}
		}},
		{"cancelled context", func(t *testing.T, st Store) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := st.Set(ctx, "n", "k", []byte("v"), store.SetOptions{TTL: time.Minute, Now: stAt(0)}); !errors.Is(err, context.Canceled) {
				t.Fatalf("Set: %v, want context.Canceled", err)
			}
			stMiss(t, st, "n", "k", stAt(0))
			if _, err := st.Get(ctx, "n", "k", store.GetOptions{Now: stAt(0)}); !errors.Is(err, context.Canceled) {
				t.Fatalf("Get: %v, want context.Canceled", err)
			}
			if err := st.Delete(ctx, "n", "k", store.DeleteOptions{}); !errors.Is(err, context.Canceled) {
				t.Fatalf("Delete: %v, want context.Canceled", err)
			}
			if _, err := st.(store.SubjectIndex).Sessions(ctx, "n", "a", "s", stAt(0)); !errors.Is(err, context.Canceled) {
				t.Fatalf("Sessions: %v, want context.Canceled", err)
			}
		}},
		{"concurrent use", func(t *testing.T, st Store) {
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := context.Background()
					for i := range 200 {
						key := fmt.Sprint("k", i%20)
						v := bytes.Repeat([]byte{byte('a' + g)}, 64)
						opts := store.SetOptions{TTL: time.Minute, Now: stAt(0), Metadata: md, OldKey: fmt.Sprint("k", (i+1)%20), StaleTTL: time.Second}
						// The old key may have been deleted meanwhile.
						if err := st.Set(ctx, "n", key, v, opts); err != nil && !errors.Is(err, ErrNotFound) {
							t.Error(err)
							return
						}
						if got, err := st.Get(ctx, "n", key, store.GetOptions{Now: stAt(0)}); err == nil && !bytes.Equal(got, bytes.Repeat(got[:1], 64)) {
							t.Errorf("torn value %q", got)
						}
						if i%7 == 0 {
							st.Delete(ctx, "n", key, store.DeleteOptions{Now: stAt(0), Metadata: md})
						}
						if i%11 == 0 {
							st.(store.SubjectIndex).Sessions(ctx, "n", "YXVk", "c3Vi", stAt(0))
						}
					}
				}()
			}
			wg.Wait()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

func TestMemoryStore(t *testing.T) {
	stBehaviour(t, func(t *testing.T) Store { return newTestMemoryStore(t) })
}

func TestMemoryStoreEviction(t *testing.T) {
	ctx := context.Background()
	t.Run("least recently used", func(t *testing.T) {
		st := newTestMemoryStore(t, WithMaxEntries(3))
		for _, k := range []string{"a", "b", "c"} {
			stSet(t, st, "n", k, k, store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		}
		stGet(t, st, "n", "a", stAt(0), "a") // a is now the most recently used
		stSet(t, st, "n", "d", "d", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		stMiss(t, st, "n", "b", stAt(0))
		for _, k := range []string{"a", "c", "d"} {
			stGet(t, st, "n", k, stAt(0), k)
		}
		if st.Len() != 3 {
			t.Fatalf("Len = %d, want 3", st.Len())
		}
	})
	t.Run("expired first", func(t *testing.T) {
		st := newTestMemoryStore(t, WithMaxEntries(3))
		stSet(t, st, "n", "a", "a", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		stSet(t, st, "n", "b", "b", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		stSet(t, st, "n", "c", "c", store.SetOptions{TTL: time.Second, Now: stAt(0)}) // most recent, but expires
		stSet(t, st, "n", "d", "d", store.SetOptions{TTL: time.Hour, Now: stAt(time.Minute)})
		for _, k := range []string{"a", "b", "d"} {
			stGet(t, st, "n", k, stAt(time.Minute), k)
		}
	})
	t.Run("overwrite does not evict", func(t *testing.T) {
		st := newTestMemoryStore(t, WithMaxEntries(2))
		stSet(t, st, "n", "a", "a", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		stSet(t, st, "n", "b", "b", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		stSet(t, st, "n", "a", "A", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		stGet(t, st, "n", "a", stAt(0), "A")
		stGet(t, st, "n", "b", stAt(0), "b")
	})
	t.Run("bounded under load", func(t *testing.T) {
		st := newTestMemoryStore(t, WithMaxEntries(1000))
		total := 0
		for i := range st.shards {
			total += st.shards[i].capacity
		}
		if total != 1000 {
			t.Fatalf("shard capacities add up to %d, want 1000", total)
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 5000 {
					st.Set(ctx, "n", fmt.Sprint(g, ":", i), []byte("v"), store.SetOptions{TTL: time.Hour, Now: stAt(0)})
				}
			}()
		}
		wg.Wait()
		if n := st.Len(); n > 1000 || n < 500 {
			t.Fatalf("Len = %d, want at most 1000 (and most of it used)", n)
		}
	})
}

func TestMemoryStoreCleaner(t *testing.T) {
	var mu sync.Mutex
	now := stAt(0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	st := newTestMemoryStore(t, WithCleanupInterval(time.Millisecond), WithClock(clock))
	st.cleaned = make(chan struct{}, 1)
	md := &store.Metadata{Audiences: []string{"a"}, Subjects: []string{"s"}}
	stSet(t, st, "n", "k", "v", store.SetOptions{TTL: time.Second, Metadata: md}) // zero Now: the store's clock
	stSet(t, st, "n", "k2", "v", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
	mu.Lock()
	now = stAt(time.Minute)
	mu.Unlock()
	deadline := time.After(time.Minute) // the cleaner runs every millisecond; a minute is for a busy machine
	for st.Len() != 1 {
		select {
		case <-st.cleaned:
		case <-deadline:
			t.Fatalf("the cleaner did not remove the expired record: Len = %d", st.Len())
		}
	}
	if n := len(st.indexes[0].entries) + len(st.indexShard(memIndexKey{"n", "a", "s"}).entries); n != 0 {
		t.Fatalf("the cleaner left %d index sets", n)
	}
	st.Stop()
	st.Stop() // idempotent
	select {
	case <-st.done:
	default:
		t.Fatal("Stop returned before the cleaner ended")
	}
	stGet(t, st, "n", "k2", stAt(0), "v") // still usable
	newTestMemoryStore(t).Stop()          // no cleaner: a no-op
}

func TestMemoryStoreCleanup(t *testing.T) {
	st := newTestMemoryStore(t)
	stSet(t, st, "n", "a", "v", store.SetOptions{TTL: time.Second, Now: stAt(0)})
	stSet(t, st, "n", "b", "v", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
	if n := st.Cleanup(stAt(time.Minute)); n != 1 {
		t.Fatalf("Cleanup removed %d records, want 1", n)
	}
	if st.Len() != 1 {
		t.Fatalf("Len = %d, want 1", st.Len())
	}
}

// TestSecurityAnonymousCannotEvict: anonymous traffic (a CSRF token, an
// OAuth state saved for every visitor) must not push signed-in users out
// of a full memory store.
func TestSecurityAnonymousCannotEvict(t *testing.T) {
	ctx := context.Background()
	t.Run("store", func(t *testing.T) {
		st := newTestMemoryStore(t, WithMaxEntries(3))
		stSet(t, st, "n", "alice", "a", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		stSet(t, st, "n", "visitor", "v", store.SetOptions{TTL: time.Hour, Now: stAt(0), Anonymous: true})
		stSet(t, st, "n", "bob", "b", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		// Anonymous writes evict the anonymous records, never a signed-in one.
		stSet(t, st, "n", "visitor2", "v", store.SetOptions{TTL: time.Hour, Now: stAt(0), Anonymous: true})
		stMiss(t, st, "n", "visitor", stAt(0))
		stGet(t, st, "n", "alice", stAt(0), "a")
		stGet(t, st, "n", "bob", stAt(0), "b")
		// A signed-in write evicts an anonymous record first.
		stSet(t, st, "n", "carol", "c", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		stMiss(t, st, "n", "visitor2", stAt(0))
		// Full of signed-in sessions: an anonymous write fails, an
		// overwrite needs no room.
		err := st.Set(ctx, "n", "visitor3", []byte("v"), store.SetOptions{TTL: time.Hour, Now: stAt(0), Anonymous: true})
		if !errors.Is(err, ErrStore) {
			t.Fatalf("anonymous Set into a store full of signed-in sessions: %v, want ErrStore", err)
		}
		stSet(t, st, "n", "carol", "c2", store.SetOptions{TTL: time.Hour, Now: stAt(0), Anonymous: true})
		stSet(t, st, "n", "carol", "c3", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		for _, kv := range [][2]string{{"alice", "a"}, {"bob", "b"}, {"carol", "c3"}} {
			stGet(t, st, "n", kv[0], stAt(0), kv[1]) // alice is now the least recently used
		}
		// A signed-in write evicts the least recently used signed-in one.
		stSet(t, st, "n", "dave", "d", store.SetOptions{TTL: time.Hour, Now: stAt(0)})
		stMiss(t, st, "n", "alice", stAt(0))
	})
	t.Run("through the library", func(t *testing.T) {
		clock := newStoreClock()
		st := newTestMemoryStore(t, WithMaxEntries(64))
		m := stManager(t, st, clock, func(c *Config) { c.Remember = false })
		var users []stJar
		for i := range 16 {
			users = append(users, stLogin(t, m, fmt.Sprint("user", i)))
		}
		failed := 0
		for range 2100 {
			j := stJar{}
			j.serve(t, func(w http.ResponseWriter, r *http.Request) {
				s := newHTTP(m, w, r)
				s.Set("csrf", "token")
				if err := s.Save(); err != nil {
					failed++
				}
			})
		}
		for i, j := range users {
			if err := stOpenErr(t, m, j); err != nil {
				t.Fatalf("user %d after 2,100 anonymous saves: %v", i, err)
			}
		}
		if failed != 0 {
			t.Fatalf("%d anonymous saves failed with room for them (64 records, 16 signed in)", failed)
		}
	})
}
