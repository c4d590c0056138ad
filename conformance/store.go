package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// StoreOptions tunes TestStore for a store; nil means the defaults.
type StoreOptions struct {
	// SkipIndex skips the subject-index rules for stores without
	// store.SubjectIndex.
	SkipIndex bool
	// MaxValueSize is the largest value the store must hold (default 16 MiB
	// - 1, the reference's maximum data size); stores with a smaller item
	// limit lower it.
	MaxValueSize int
	// Wait, when set, is called to let real time pass for TTL rules on
	// servers whose expiry runs on their own clock (Redis, memcached, SQL
	// with NOW()); nil means the store honours SetOptions.Now /
	// GetOptions.Now.
	Wait func(d time.Duration)
	// Sequential runs the rules one after another. By default they all run
	// at the same time, each on its own store, so newStore must be safe for
	// concurrent calls; set Sequential when it is not, or when the backend
	// cannot hold a store per rule at once.
	Sequential bool
	// SharedKeys is set for a store that keys records by the storage key
	// alone, as lua-resty-session's SQL tables do: the rules then check
	// that a key held under one cookie name is refused, unread and kept
	// under another, instead of expecting two records.
	SharedKeys bool
	// GroupInfoIDsOnly, for a store.GroupInfoReader that links records
	// into groups but keeps no times or facts in some deployment (Redis
	// Cluster), skips the group info rules on times and facts.
	GroupInfoIDsOnly bool
}

// DefaultMaxValueSize is the value size TestStore checks by default: the
// reference library's maximum data size, 2^24 - 1 bytes.
const DefaultMaxValueSize = 1<<24 - 1

// Timings of the TTL rules. With StoreOptions.Wait they are real time, on
// a machine that may be busy, and on servers that may count expiry in whole
// seconds: such a server can end a record with a TTL of n seconds anywhere
// between n-1 and n+1 seconds after the Set (memcached ticks its clock once
// a second; MySQL's NOW() drops the fraction). With a three-second TTL a
// record is read back within two seconds of its Set, and checked gone
// after four and a half, then polled for up to expiryGrace more: a
// server's clock may tick late under load.
const (
	shortTTL = 3 * time.Second
	pastTTL  = 4500 * time.Millisecond
	longTTL  = time.Hour
	// expiryTolerance is how far an index entry's expiry may be from the
	// record's (stores may count in whole seconds).
	expiryTolerance = 2 * time.Second
	// expiryGrace is how long, past pastTTL, the Wait variant polls for
	// an expired record to read as missing before a rule checks it.
	expiryGrace = 10 * time.Second
)

// The cookie names TestStore stores under: core's defaults, and a third
// that a chunked cookie would use, so that names that share a prefix are
// checked too.
const (
	sessionName  = "session"
	rememberName = "remember"
	chunkName    = "session2"
)

// storeRule is one rule of the session.Store contract: the sentence it
// tests and the check.
type storeRule struct {
	name      string
	contract  string // quoted from the Store contract (core/store/store.go)
	index     bool   // needs store.SubjectIndex
	groupInf  bool   // needs store.GroupInfoReader (store_group_info.go)
	infoTimes bool   // needs its times and facts (not StoreOptions.GroupInfoIDsOnly)
	limiter   bool   // needs store.SessionLimiter with LimitsSessions true
	run       func(c *storeCase)
}

// TestStore checks that a session.Store implementation follows the Store
// contract, the way testing/fstest.TestFS checks a file system. newStore
// must return a fresh, empty store (its own key prefix, table or database)
// on every call; it is called once per rule, each rule being a subtest
// named after it, so a failure names the rule it breaks, e.g.
// "TestMyStore/stale_ttl", and its message quotes the contract sentence.
// Stores that implement store.Stopper are stopped at the end of each
// subtest.
//
// The rules run at the same time, each on its own store, and TestStore
// returns when all of them have ended: newStore is called from several
// goroutines at once and must be safe for that (opts.Sequential runs them
// one after another instead). They do not wait for the test binary's
// -parallel slots, as they mostly wait on the store.
//
// The subject-index rules run when the store implements
// store.SubjectIndex (a store that does not is told to set SkipIndex),
// the revocation backend rules (revoker_*) when it implements
// store.Revoker, the group info rules (group_info_*, devices_*) when it
// implements store.GroupInfoReader, and limit_concurrent when it
// implements store.SessionLimiter with LimitsSessions true; other stores
// skip them.
// The last rules drive whole sessions through the session library (open,
// save, info, refresh, logout, destroy, revoke) with the store plugged in.
//
// Stores that keep time themselves (a server's own clock) set opts.Wait;
// the TTL rules then let real time pass, about five seconds each, which
// the rules spend at the same time. Run the suite with -race: one rule
// writes from many goroutines.
func TestStore(t *testing.T, newStore func(t *testing.T) session.Store, opts *StoreOptions) {
	var o StoreOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = DefaultMaxValueSize
	}
	if o.Sequential {
		for _, r := range storeRules {
			runStoreRule(t, r, newStore, o)
		}
		return
	}
	// testing.T.Run may be called from several goroutines at once; it
	// returns when its subtest ends, so TestStore returns when all have.
	var wg sync.WaitGroup
	for _, r := range storeRules {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runStoreRule(t, r, newStore, o)
		}()
	}
	wg.Wait()
}

// runStoreRule runs rule r as a subtest of t, on a store of its own.
func runStoreRule(t *testing.T, r *storeRule, newStore func(t *testing.T) session.Store, o StoreOptions) {
	t.Run(r.name, func(t *testing.T) {
		st := newStore(t)
		if st == nil {
			t.Fatal("newStore returned a nil store")
		}
		if s, ok := st.(store.Stopper); ok {
			defer s.Stop()
		}
		if r.index {
			if o.SkipIndex {
				t.Skip("StoreOptions.SkipIndex is set")
			}
			if _, ok := st.(store.SubjectIndex); !ok {
				t.Fatal("the store does not implement store.SubjectIndex: set StoreOptions.SkipIndex")
			}
		}
		if r.groupInf {
			if _, ok := st.(store.GroupInfoReader); !ok {
				t.Skip("the store does not implement store.GroupInfoReader")
			}
			if r.infoTimes && o.GroupInfoIDsOnly {
				t.Skip("StoreOptions.GroupInfoIDsOnly is set")
			}
		}
		if r.limiter {
			if l, ok := st.(store.SessionLimiter); !ok || !l.LimitsSessions() {
				t.Skip("the store does not cap sessions itself (store.SessionLimiter with LimitsSessions true)")
			}
		}
		c := &storeCase{t: t, st: st, opts: o, rule: r, ctx: context.Background()}
		c.base = time.Now().Truncate(time.Second)
		r.run(c)
	})
}

// storeCase is the state of one rule's run.
type storeCase struct {
	t    *testing.T
	st   session.Store
	opts StoreOptions
	rule *storeRule
	ctx  context.Context
	cite string // the sentence a step tests, when not the rule's own

	mu   sync.Mutex
	base time.Time     // the simulated clock, without Wait
	skew time.Duration // added to the clock given to the session library
}

// fatalf stops the rule with a message that names the contract sentence.
func (c *storeCase) fatalf(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("%s\n\tbreaks the Store contract: %q", fmt.Sprintf(format, args...), c.contract())
}

// contract is the sentence the current step tests.
func (c *storeCase) contract() string {
	if c.cite != "" {
		return c.cite
	}
	return c.rule.contract
}

// errorf reports a failure of the rule and goes on.
func (c *storeCase) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf("%s\n\tbreaks the Store contract: %q", fmt.Sprintf(format, args...), c.contract())
}

// now is the time passed to the store: simulated without Wait, real with
// it.
func (c *storeCase) now() time.Time {
	if c.opts.Wait != nil {
		return time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base
}

// later lets d pass: real time with Wait, simulated time without.
func (c *storeCase) later(d time.Duration) {
	if c.opts.Wait != nil {
		c.opts.Wait(d)
		return
	}
	c.mu.Lock()
	c.base = c.base.Add(d)
	c.mu.Unlock()
}

// libraryClock is the clock given to the session library: the store's time
// plus a skew that skip adds, to jump over session timeouts without
// waiting.
func (c *storeCase) libraryClock() time.Time {
	t := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	return t.Add(c.skew)
}

// expire lets the short TTL of a rule's records pass: pastTTL, simulated
// or real, and then, with Wait, as long as gone does not hold yet (at most
// expiryGrace more), since a busy server's expiry may run late. expire
// checks nothing itself: the rule then checks what it expects, so a store
// that never expires a record still fails it.
func (c *storeCase) expire(gone func() bool) {
	c.later(pastTTL)
	if c.opts.Wait == nil {
		return
	}
	for deadline := time.Now().Add(expiryGrace); !gone() && time.Now().Before(deadline); {
		c.opts.Wait(100 * time.Millisecond)
	}
}

// missing returns a condition for expire: every key under name reads as
// missing.
func (c *storeCase) missing(name string, keys ...string) func() bool {
	return func() bool {
		for _, k := range keys {
			if _, err := c.get(name, k); !errors.Is(err, session.ErrNotFound) {
				return false
			}
		}
		return true
	}
}

func (c *storeCase) skip(d time.Duration) {
	c.mu.Lock()
	c.skew += d
	c.mu.Unlock()
}

// newKey returns a fresh storage key as the session library makes them:
// base64url of 32 random bytes (or of their SHA-256), 43 characters.
func newKey() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (c *storeCase) set(name, key string, value []byte, o store.SetOptions) {
	c.t.Helper()
	if o.Now.IsZero() {
		o.Now = c.now()
	}
	if o.TTL == 0 {
		o.TTL = longTTL
	}
	if err := c.st.Set(c.ctx, name, key, value, o); err != nil {
		c.fatalf("Set(%q, %q, %d bytes): %v", name, key, len(value), err)
	}
}

func (c *storeCase) get(name, key string) ([]byte, error) {
	return c.st.Get(c.ctx, name, key, store.GetOptions{Now: c.now()})
}

func (c *storeCase) del(name, key string, md *store.Metadata) {
	c.t.Helper()
	if err := c.st.Delete(c.ctx, name, key, store.DeleteOptions{Now: c.now(), Metadata: md}); err != nil {
		c.fatalf("Delete(%q, %q): %v", name, key, err)
	}
}

// wantValue checks that name/key holds want; why says when.
func (c *storeCase) wantValue(name, key string, want []byte, why string) {
	c.t.Helper()
	got, err := c.get(name, key)
	if err != nil {
		c.fatalf("%s: Get(%q, %q) failed: %v; want the stored value", why, name, key, err)
	}
	if !bytes.Equal(got, want) {
		c.fatalf("%s: Get(%q, %q) = %s; want %s", why, name, key, describe(got), describe(want))
	}
}

// wantMissing checks that name/key is missing (an error matching
// session.ErrNotFound).
func (c *storeCase) wantMissing(name, key, why string) {
	c.t.Helper()
	got, err := c.get(name, key)
	if err == nil {
		c.fatalf("%s: Get(%q, %q) = %s, nil; want an error matching session.ErrNotFound", why, name, key, describe(got))
	}
	if !errors.Is(err, session.ErrNotFound) {
		c.fatalf("%s: Get(%q, %q) error %q does not match session.ErrNotFound", why, name, key, err)
	}
}

func (c *storeCase) sessions(name, audience, subject string) []store.IndexEntry {
	c.t.Helper()
	entries, err := c.st.(store.SubjectIndex).Sessions(c.ctx, name, audience, subject, c.now())
	if err != nil {
		c.fatalf("Sessions(%q, %q, %q): %v", name, audience, subject, err)
	}
	return entries
}

// findEntry returns the index entry of key.
func findEntry(entries []store.IndexEntry, key string) (store.IndexEntry, bool) {
	for _, e := range entries {
		if e.Key == key {
			return e, true
		}
	}
	return store.IndexEntry{}, false
}

// describe prints a value briefly.
func describe(v []byte) string {
	if v == nil {
		return "nil"
	}
	if len(v) <= 64 {
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%d bytes %q...", len(v), v[:32])
}

// metadata returns subject index entries of fresh audience and subject
// pairs, encoded as the session library encodes them.
func metadata(pairs int) *store.Metadata {
	md := &store.Metadata{}
	for range pairs {
		md.Audiences = append(md.Audiences, base64.RawURLEncoding.EncodeToString([]byte("aud-"+newKey()[:8])))
		md.Subjects = append(md.Subjects, base64.RawURLEncoding.EncodeToString([]byte("user-"+newKey()[:8])))
	}
	return md
}

// The sentences of the contract (core/store/store.go) the rules test.
const (
	cGet         = "Get returns the value stored under name and key."
	cNotFound    = "A missing or expired record is an error that matches ErrNotFound."
	cSet         = "Set stores value under name and key for opts.TTL."
	cStale       = "When opts.OldKey is set, the record under it must stay readable for at most opts.StaleTTL (its expiry is only ever shortened) so that concurrent requests that still carry the previous cookie keep working."
	cIndexAdd    = "When opts.Metadata is set and the store keeps a subject index, key is added to the index of each audience and subject pair with its expiry, and expired index entries are pruned."
	cIndexList   = "Sessions lists the live sessions of an encoded audience and subject, pruning expired entries as it goes."
	cDelete      = "Delete removes the record under name and key, and the key from the subject index of opts.Metadata when given."
	cDelMissing  = "Deleting a missing record is not an error."
	cNameKey     = "Stores build their own keys from both [name and key]."
	cSharedKeys  = "such a store refuses with an error a Set of a key that another cookie name holds, and a Get or Delete under the other name neither reads nor removes it."
	cStorageKey  = "key the storage key (base64url of the session id, or of its SHA-256 with the session package's Config.HashStorageKey)"
	cConcurrent  = "A Store must be safe for concurrent use."
	cCancelled   = "store calls run under [the request's context], so a cancelled request cancels them: a cancelled call fails or completes, it never leaves half a record, and it is not reported as a missing record."
	cStoreErrors = "ErrStore wraps a failure of the configured Store (connection refused, timeout, cancelled context, ...)."
	cLifeCycle   = "A Store keeps the encrypted session data on the server side, while the cookie carries only the 110-character header."
)

var storeRules []*storeRule

func init() {
	storeRules = append(storeRules, []*storeRule{
		{name: "set_get", contract: cGet, run: ruleSetGet},
		{name: "get_missing", contract: cNotFound, run: ruleGetMissing},
		{name: "overwrite", contract: cSet, run: ruleOverwrite},
		{name: "delete", contract: cDelete, run: ruleDelete},
		{name: "delete_missing", contract: cDelMissing, run: ruleDeleteMissing},
		{name: "names_and_keys_apart", contract: cNameKey, run: ruleNamesApart},
		{name: "storage_keys", contract: cStorageKey, run: ruleStorageKeys},
		{name: "binary_values", contract: cSet, run: ruleBinaryValues},
		{name: "large_value", contract: cSet, run: ruleLargeValue},
		{name: "ttl_expiry", contract: cNotFound, run: ruleTTLExpiry},
		{name: "stale_ttl", contract: cStale, run: ruleStaleTTL},
		{name: "stale_ttl_only_shortens", contract: cStale, run: ruleStaleOnlyShortens},
		{name: "stale_ttl_zero", contract: cStale, run: ruleStaleZero},
		{name: "concurrent_writers", contract: cConcurrent, run: ruleConcurrentWriters},
		{name: "cancelled_context", contract: cCancelled, run: ruleCancelledContext},
		{name: "index_add_list", contract: cIndexAdd, index: true, run: ruleIndexAddList},
		{name: "index_replaced_key", contract: cIndexList, index: true, run: ruleIndexReplacedKey},
		{name: "index_prune", contract: cIndexList, index: true, run: ruleIndexPrune},
		{name: "index_delete", contract: cDelete, index: true, run: ruleIndexDelete},
		{name: "errors_surfaced", contract: cStoreErrors, run: ruleErrorsSurfaced},
		{name: "session_life_cycle", contract: cLifeCycle, run: ruleLifeCycle},
	}...)
}

func ruleSetGet(c *storeCase) {
	key := newKey()
	value := []byte(`["` + newKey() + `"]`)
	c.set(sessionName, key, value, store.SetOptions{})
	c.wantValue(sessionName, key, value, "after Set")
	c.wantValue(sessionName, key, value, "after a second Get")
}

func ruleGetMissing(c *storeCase) {
	c.wantMissing(sessionName, newKey(), "a key never set")
}

func ruleOverwrite(c *storeCase) {
	key := newKey()
	c.set(sessionName, key, []byte("first value, the longer one"), store.SetOptions{})
	c.set(sessionName, key, []byte("second"), store.SetOptions{})
	c.wantValue(sessionName, key, []byte("second"), "after a second Set of the same key")
}

func ruleDelete(c *storeCase) {
	key, other := newKey(), newKey()
	c.set(sessionName, key, []byte("v"), store.SetOptions{})
	c.set(sessionName, other, []byte("w"), store.SetOptions{})
	c.del(sessionName, key, nil)
	c.wantMissing(sessionName, key, "after Delete")
	c.wantValue(sessionName, other, []byte("w"), "another key after Delete")
}

func ruleDeleteMissing(c *storeCase) {
	key := newKey()
	c.del(sessionName, key, nil)
	c.del(sessionName, key, metadata(1))
	c.set(sessionName, key, []byte("v"), store.SetOptions{})
	c.del(sessionName, key, nil)
	c.del(sessionName, key, nil) // a second time
}

func ruleNamesApart(c *storeCase) {
	if c.opts.SharedKeys {
		sharedKeysApart(c)
		return
	}
	key := newKey()
	names := []string{sessionName, rememberName, chunkName}
	for _, n := range names {
		c.set(n, key, []byte("value of "+n), store.SetOptions{})
	}
	for _, n := range names {
		c.wantValue(n, key, []byte("value of "+n), "the same key under three cookie names")
	}
	c.del(sessionName, key, nil)
	c.wantMissing(sessionName, key, "after Delete under one name")
	c.wantValue(rememberName, key, []byte("value of "+rememberName), "the same key under another name after a Delete")
	c.wantValue(chunkName, key, []byte("value of "+chunkName), "the same key under a longer name after a Delete")
	// A name and a key must not run into each other: "session" + "2k..."
	// and "session2" + "k..." are different records.
	rest := newKey()[1:]
	c.set(sessionName, "2"+rest, []byte("v"), store.SetOptions{})
	c.wantMissing(chunkName, rest, fmt.Sprintf("name %q, key %q (only name %q, key %q was set)", chunkName, rest, sessionName, "2"+rest))
}

// sharedKeysApart is ruleNamesApart for a store keyed by the storage key
// alone: one key is one record, held by the first cookie name.
func sharedKeysApart(c *storeCase) {
	c.cite = cSharedKeys
	defer func() { c.cite = "" }()
	key := newKey()
	c.set(sessionName, key, []byte("value of "+sessionName), store.SetOptions{})
	for _, n := range []string{rememberName, chunkName} {
		err := c.st.Set(c.ctx, n, key, []byte("value of "+n), store.SetOptions{TTL: longTTL, Now: c.now()})
		if err == nil {
			c.fatalf("Set(%q, %q) of a key that %q holds: nil error, want an error", n, key, sessionName)
		}
		if _, err := c.get(n, key); !errors.Is(err, store.ErrNotFound) {
			c.fatalf("Get(%q, %q) of a key that %q holds: %v, want an error matching ErrNotFound", n, key, sessionName, err)
		}
		c.del(n, key, nil)
		c.wantValue(sessionName, key, []byte("value of "+sessionName), fmt.Sprintf("after a refused Set and a Delete under %q", n))
	}
	c.del(sessionName, key, nil)
	c.wantMissing(sessionName, key, "after Delete under the name that held it")
	// A name and a key must not run into each other: "session" + "2k..."
	// and "session2" + "k..." are different records.
	rest := newKey()[1:]
	c.set(sessionName, "2"+rest, []byte("v"), store.SetOptions{})
	c.wantMissing(chunkName, rest, fmt.Sprintf("name %q, key %q (only name %q, key %q was set)", chunkName, rest, sessionName, "2"+rest))
}

func ruleStorageKeys(c *storeCase) {
	keys := []string{
		"-" + newKey()[1:], // base64url keys may start with '-' or '_'
		"_" + newKey()[1:],
		newKey()[:42] + "-",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", // differs from the last only in case
	}
	for range 50 {
		keys = append(keys, newKey())
	}
	for i, k := range keys {
		if len(k) != 43 {
			panic("conformance: bad test key")
		}
		c.set(sessionName, k, []byte(fmt.Sprint("value ", i)), store.SetOptions{})
	}
	for i, k := range keys {
		c.wantValue(sessionName, k, []byte(fmt.Sprint("value ", i)), "a 43-character base64url key")
	}
}

func ruleBinaryValues(c *storeCase) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	values := [][]byte{
		all,
		[]byte("\x00"),
		[]byte("\xff\xfe invalid UTF-8 \xc3\x28"),
		[]byte("\r\n\r\nlines\n"),
		[]byte(`["quotes\" and \\ backslashes"]`),
		[]byte("  spaces  "),
	}
	for i, v := range values {
		key := newKey()
		c.set(sessionName, key, v, store.SetOptions{})
		c.wantValue(sessionName, key, v, fmt.Sprintf("binary value %d", i))
	}
}

// largeValue returns n bytes of base64url text, like a session record.
func largeValue(n int) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	v := make([]byte, n)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range v {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v[i] = alphabet[x&63]
	}
	return v
}

func ruleLargeValue(c *storeCase) {
	n := c.opts.MaxValueSize
	v := largeValue(n)
	key := newKey()
	c.set(sessionName, key, v, store.SetOptions{})
	c.wantValue(sessionName, key, v, fmt.Sprintf("a value of MaxValueSize (%d) bytes", n))
	v[n/2] ^= 1 // a different value of the same size replaces it
	c.set(sessionName, key, v, store.SetOptions{})
	c.wantValue(sessionName, key, v, "a second large value under the same key")
}

func ruleTTLExpiry(c *storeCase) {
	short, long := newKey(), newKey()
	c.set(sessionName, short, []byte("short"), store.SetOptions{TTL: shortTTL})
	c.set(sessionName, long, []byte("long"), store.SetOptions{TTL: longTTL})
	c.wantValue(sessionName, short, []byte("short"), fmt.Sprintf("right after Set with a TTL of %v", shortTTL))
	c.expire(c.missing(sessionName, short))
	c.wantMissing(sessionName, short, fmt.Sprintf("at least %v after Set with a TTL of %v", pastTTL, shortTTL))
	c.wantValue(sessionName, long, []byte("long"), "a record with a one-hour TTL")
}

func ruleStaleTTL(c *storeCase) {
	old, next, other := newKey(), newKey(), newKey()
	c.set(sessionName, old, []byte("old"), store.SetOptions{TTL: longTTL})
	c.set(rememberName, other, []byte("other"), store.SetOptions{TTL: longTTL})
	c.set(sessionName, next, []byte("new"), store.SetOptions{TTL: longTTL, OldKey: old, StaleTTL: shortTTL})
	c.wantValue(sessionName, old, []byte("old"), fmt.Sprintf("the old key right after a Set that replaced it (StaleTTL %v)", shortTTL))
	c.wantValue(sessionName, next, []byte("new"), "the new key")
	c.expire(c.missing(sessionName, old))
	c.wantMissing(sessionName, old, fmt.Sprintf("the old key at least %v after a Set with StaleTTL %v", pastTTL, shortTTL))
	c.wantValue(sessionName, next, []byte("new"), "the new key once the old one is gone")
	c.wantValue(rememberName, other, []byte("other"), "an unrelated record")
}

func ruleStaleOnlyShortens(c *storeCase) {
	old, next := newKey(), newKey()
	c.set(sessionName, old, []byte("old"), store.SetOptions{TTL: shortTTL})
	c.set(sessionName, next, []byte("new"), store.SetOptions{TTL: longTTL, OldKey: old, StaleTTL: longTTL})
	c.expire(c.missing(sessionName, old))
	c.wantMissing(sessionName, old, fmt.Sprintf("an old key with a TTL of %v replaced with StaleTTL 1h (its expiry must not be extended)", shortTTL))
}

func ruleStaleZero(c *storeCase) {
	old, next := newKey(), newKey()
	c.set(sessionName, old, []byte("old"), store.SetOptions{TTL: longTTL})
	c.set(sessionName, next, []byte("new"), store.SetOptions{TTL: longTTL, OldKey: old, StaleTTL: 0})
	c.wantMissing(sessionName, old, "the old key after a Set with StaleTTL 0 (readable for at most 0s)")
	c.wantValue(sessionName, next, []byte("new"), "the new key")
}

func ruleConcurrentWriters(c *storeCase) {
	const writers, rounds, size = 8, 40, 1024
	shared := []string{newKey(), newKey(), newKey()}
	var wg sync.WaitGroup
	errs := make(chan string, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := bytes.Repeat([]byte{'a' + byte(w)}, size)
			own := newKey()
			for i := range rounds {
				key := shared[i%len(shared)]
				if err := c.st.Set(c.ctx, sessionName, key, mine, store.SetOptions{TTL: longTTL, Now: c.now()}); err != nil {
					errs <- fmt.Sprintf("writer %d: Set: %v", w, err)
					return
				}
				got, err := c.st.Get(c.ctx, sessionName, key, store.GetOptions{Now: c.now()})
				if err != nil {
					errs <- fmt.Sprintf("writer %d: Get of a key every writer sets: %v", w, err)
					return
				}
				if len(got) != size || !bytes.Equal(got, bytes.Repeat(got[:1], size)) {
					errs <- fmt.Sprintf("writer %d: Get returned a mix of writes: %s", w, describe(got))
					return
				}
				if err := c.st.Set(c.ctx, rememberName, own, mine, store.SetOptions{TTL: longTTL, Now: c.now()}); err != nil {
					errs <- fmt.Sprintf("writer %d: Set: %v", w, err)
					return
				}
				if got, err := c.st.Get(c.ctx, rememberName, own, store.GetOptions{Now: c.now()}); err != nil || !bytes.Equal(got, mine) {
					errs <- fmt.Sprintf("writer %d: Get of its own key = %s, %v", w, describe(got), err)
					return
				}
				if i%5 == 4 {
					if err := c.st.Delete(c.ctx, rememberName, own, store.DeleteOptions{Now: c.now()}); err != nil {
						errs <- fmt.Sprintf("writer %d: Delete: %v", w, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		c.errorf("%s", e)
	}
}

func ruleCancelledContext(c *storeCase) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel2()
	for _, ctx := range []struct {
		name string
		ctx  context.Context
	}{{"cancelled", cancelled}, {"past deadline", expired}} {
		existing := newKey()
		value := largeValue(64 << 10)
		c.set(sessionName, existing, value, store.SetOptions{})

		// Get: the whole value or an error that is not ErrNotFound.
		got, err := c.st.Get(ctx.ctx, sessionName, existing, store.GetOptions{Now: c.now()})
		switch {
		case errors.Is(err, session.ErrNotFound):
			c.fatalf("Get with a %s context reported an existing record as missing: %v", ctx.name, err)
		case err == nil && !bytes.Equal(got, value):
			c.fatalf("Get with a %s context returned %s, not the stored value", ctx.name, describe(got))
		}

		// Set: an error, or the whole record; never a part.
		key := newKey()
		err = c.st.Set(ctx.ctx, sessionName, key, value, store.SetOptions{TTL: longTTL, Now: c.now()})
		got, gerr := c.get(sessionName, key)
		switch {
		case gerr == nil && !bytes.Equal(got, value):
			c.fatalf("Set with a %s context left a partial record: %s", ctx.name, describe(got))
		case gerr != nil && !errors.Is(gerr, session.ErrNotFound):
			c.fatalf("Get after a Set with a %s context: %v", ctx.name, gerr)
		case err == nil && gerr != nil:
			c.fatalf("Set with a %s context returned no error but stored nothing", ctx.name)
		}

		// Delete: an error, or the record is gone; the other stays whole.
		err = c.st.Delete(ctx.ctx, sessionName, existing, store.DeleteOptions{Now: c.now()})
		got, gerr = c.get(sessionName, existing)
		switch {
		case err == nil && gerr == nil:
			c.fatalf("Delete with a %s context returned no error but the record is still there", ctx.name)
		case gerr == nil && !bytes.Equal(got, value):
			c.fatalf("Delete with a %s context left a partial record: %s", ctx.name, describe(got))
		}
	}
}

func ruleIndexAddList(c *storeCase) {
	md := metadata(2)
	key, other := newKey(), newKey()
	start := c.now()
	c.set(sessionName, key, []byte("v"), store.SetOptions{TTL: longTTL, Metadata: md})
	c.set(sessionName, other, []byte("w"), store.SetOptions{TTL: 2 * longTTL, Metadata: &store.Metadata{Audiences: md.Audiences[:1], Subjects: md.Subjects[:1]}})
	for i := range md.Audiences {
		entries := c.sessions(sessionName, md.Audiences[i], md.Subjects[i])
		e, ok := findEntry(entries, key)
		if !ok {
			c.fatalf("Sessions of pair %d (%s, %s) = %v, does not list the key set with that metadata", i, md.Audiences[i], md.Subjects[i], entries)
		}
		want := start.Add(longTTL)
		if d := e.Expires.Sub(want); d < -expiryTolerance || d > expiryTolerance {
			c.fatalf("index entry expires at %v, want the record's expiry %v (Set Now + TTL)", e.Expires, want)
		}
		if _, ok := findEntry(entries, other); ok != (i == 0) {
			c.fatalf("Sessions of pair %d lists a key indexed under pair 0 only: %v = %v", i, ok, entries)
		}
	}
	if entries := c.sessions(sessionName, md.Audiences[0], md.Subjects[1]); len(entries) != 0 {
		c.fatalf("Sessions of a crossed audience and subject pair = %v, want none", entries)
	}
	if entries := c.sessions(rememberName, md.Audiences[0], md.Subjects[0]); len(entries) != 0 {
		c.fatalf("Sessions under another cookie name = %v, want none", entries)
	}
	if entries := c.sessions(sessionName, metadata(1).Audiences[0], md.Subjects[0]); len(entries) != 0 {
		c.fatalf("Sessions of another audience = %v, want none", entries)
	}
}

func ruleIndexReplacedKey(c *storeCase) {
	md := metadata(1)
	old, next := newKey(), newKey()
	c.set(sessionName, old, []byte("old"), store.SetOptions{TTL: longTTL, Metadata: md})
	start := c.now()
	c.set(sessionName, next, []byte("new"), store.SetOptions{TTL: longTTL, OldKey: old, StaleTTL: shortTTL, Metadata: md})
	entries := c.sessions(sessionName, md.Audiences[0], md.Subjects[0])
	if _, ok := findEntry(entries, next); !ok {
		c.fatalf("Sessions after a save that replaced a key = %v, does not list the new key", entries)
	}
	if e, ok := findEntry(entries, old); ok && e.Expires.After(start.Add(shortTTL+expiryTolerance)) {
		c.fatalf("Sessions lists the replaced key until %v, past its stale TTL (%v from %v)", e.Expires, shortTTL, start)
	}
	c.expire(c.missing(sessionName, old))
	entries = c.sessions(sessionName, md.Audiences[0], md.Subjects[0])
	if _, ok := findEntry(entries, old); ok {
		c.fatalf("Sessions lists the replaced key after its stale TTL: %v", entries)
	}
	if len(entries) != 1 {
		c.fatalf("Sessions = %v, want only the new key", entries)
	}
}

func ruleIndexPrune(c *storeCase) {
	md := metadata(1)
	short, long := newKey(), newKey()
	c.set(sessionName, short, []byte("v"), store.SetOptions{TTL: shortTTL, Metadata: md})
	c.set(sessionName, long, []byte("v"), store.SetOptions{TTL: longTTL, Metadata: md})
	if entries := c.sessions(sessionName, md.Audiences[0], md.Subjects[0]); len(entries) != 2 {
		c.fatalf("Sessions = %v, want both keys while they live", entries)
	}
	c.expire(c.missing(sessionName, short))
	entries := c.sessions(sessionName, md.Audiences[0], md.Subjects[0])
	if _, ok := findEntry(entries, short); ok {
		c.fatalf("Sessions lists a key whose record expired: %v", entries)
	}
	if _, ok := findEntry(entries, long); !ok || len(entries) != 1 {
		c.fatalf("Sessions = %v, want only the live key", entries)
	}
	// A write after the expiry prunes too; the index stays usable.
	third := newKey()
	c.set(sessionName, third, []byte("v"), store.SetOptions{TTL: longTTL, Metadata: md})
	if entries := c.sessions(sessionName, md.Audiences[0], md.Subjects[0]); len(entries) != 2 {
		c.fatalf("Sessions after another write = %v, want the two live keys", entries)
	}
}

func ruleIndexDelete(c *storeCase) {
	md := metadata(2)
	key, kept := newKey(), newKey()
	c.set(sessionName, key, []byte("v"), store.SetOptions{Metadata: md})
	c.set(sessionName, kept, []byte("v"), store.SetOptions{Metadata: md})
	c.del(sessionName, key, md)
	c.wantMissing(sessionName, key, "after Delete with metadata")
	for i := range md.Audiences {
		entries := c.sessions(sessionName, md.Audiences[i], md.Subjects[i])
		if _, ok := findEntry(entries, key); ok {
			c.fatalf("Sessions of pair %d lists a key deleted with its metadata: %v", i, entries)
		}
		if _, ok := findEntry(entries, kept); !ok {
			c.fatalf("Sessions of pair %d lost a key that was not deleted: %v", i, entries)
		}
	}
}
