package conformance

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// The Wait variant's server clocks apply to revocation marks too.

func (s serverClockStore) Revoke(ctx context.Context, marks []store.Mark, _ time.Time) error {
	return s.MemoryStore.Revoke(ctx, marks, s.setNow())
}

func (s serverClockStore) Revoked(ctx context.Context, keys []string, _ time.Time) ([]time.Time, error) {
	return s.MemoryStore.Revoked(ctx, keys, s.readNow())
}

// TestRevokerRulesSkip: a store that is not a store.Revoker skips the
// revoker rules.
func TestRevokerRulesSkip(t *testing.T) {
	var ran []string
	var mu sync.Mutex
	TestStore(t, func(t *testing.T) session.Store {
		if strings.Contains(t.Name(), "/revoker_") {
			t.Cleanup(func() {
				if !t.Skipped() {
					mu.Lock()
					ran = append(ran, t.Name())
					mu.Unlock()
				}
			})
		}
		return noIndex{newMemoryStore(t)}
	}, &StoreOptions{SkipIndex: true, MaxValueSize: 1 << 10})
	if len(ran) != 0 {
		t.Fatalf("revoker rules ran on a store without store.Revoker: %q", ran)
	}
}

// brokenRevoker is a memory store whose store.Revoker breaks one sentence
// of the contract.
type brokenRevoker struct {
	*session.MemoryStore
	mode string

	mu    sync.Mutex
	marks map[string]time.Time // last_write_wins: At, no expiry merge
	exp   map[string]time.Time
}

func (b *brokenRevoker) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	switch b.mode {
	case "ignores_ttl":
		for i := range marks {
			marks[i].TTL *= 1000
		}
	case "last_write_wins":
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range marks {
			b.marks[m.Key], b.exp[m.Key] = m.At, now.Add(m.TTL)
		}
		return nil
	case "shares_records":
		// Marks kept as records "kind:hash" of the session keyspace.
		for _, m := range marks {
			kind, rest, _ := strings.Cut(m.Key, ":")
			v := []byte(strconv.FormatInt(m.At.Unix(), 10))
			if err := b.MemoryStore.Set(ctx, kind, rest, v, store.SetOptions{TTL: m.TTL, Now: now}); err != nil {
				return err
			}
		}
		return nil
	}
	return b.MemoryStore.Revoke(ctx, marks, now)
}

func (b *brokenRevoker) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	switch b.mode {
	case "zero_on_cancel":
		if ctx.Err() != nil {
			return make([]time.Time, len(keys)), nil
		}
	case "last_write_wins":
		b.mu.Lock()
		defer b.mu.Unlock()
		out := make([]time.Time, len(keys))
		for i, k := range keys {
			if now.Before(b.exp[k]) {
				out[i] = b.marks[k]
			}
		}
		return out, nil
	case "shares_records":
		out := make([]time.Time, len(keys))
		for i, k := range keys {
			kind, rest, _ := strings.Cut(k, ":")
			if v, err := b.MemoryStore.Get(ctx, kind, rest, store.GetOptions{Now: now}); err == nil {
				n, _ := strconv.ParseInt(string(v), 10, 64)
				out[i] = time.Unix(n, 0)
			}
		}
		return out, nil
	}
	ats, err := b.MemoryStore.Revoked(ctx, keys, now)
	if b.mode == "reorders" {
		slices.Reverse(ats)
	}
	return ats, err
}

// brokenRevokers are the broken revokers, the rules each breaks, and a
// revoker rule each still passes (so that a failure is the rule's own, not
// a suite that fails everything).
var brokenRevokers = []struct {
	mode     string
	mustFail []string
	mustPass string
}{
	{"ignores_ttl", []string{"revoker_ttl_expiry"}, "revoker_later_at_wins"},
	{"last_write_wins", []string{"revoker_later_at_wins", "revoker_expiry_never_shortened"}, "revoker_mark_lookup"},
	{"reorders", []string{"revoker_mark_lookup", "revoker_many_keys"}, "revoker_later_at_wins"},
	{"zero_on_cancel", []string{"revoker_cancelled_context"}, "revoker_mark_lookup"},
	{"shares_records", []string{"revoker_apart_from_records"}, "revoker_mark_lookup"},
}

const brokenRevokerEnv = "SESSIONGO_CONFORMANCE_BROKEN_REVOKER"

// TestBrokenRevokerHelper runs the suite on the broken revoker named by the
// environment, in the subprocess that TestRevokerRulesCatchBrokenRevokers
// starts.
func TestBrokenRevokerHelper(t *testing.T) {
	mode := os.Getenv(brokenRevokerEnv)
	if mode == "" {
		t.Skip("runs in a subprocess of TestRevokerRulesCatchBrokenRevokers")
	}
	TestStore(t, func(t *testing.T) session.Store {
		return &brokenRevoker{MemoryStore: newMemoryStore(t), mode: mode,
			marks: map[string]time.Time{}, exp: map[string]time.Time{}}
	}, &StoreOptions{MaxValueSize: 1 << 10})
}

var revokerResultLine = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): TestBrokenRevokerHelper/(\S+)`)

func TestRevokerRulesCatchBrokenRevokers(t *testing.T) {
	if os.Getenv(brokenRevokerEnv) != "" || os.Getenv(brokenEnv) != "" {
		t.Skip("inside a subprocess")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	sem := make(chan struct{}, 2)
	for _, b := range brokenRevokers {
		t.Run(b.mode, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command(exe, "-test.run=^TestBrokenRevokerHelper$", "-test.v", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), brokenRevokerEnv+"="+b.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a revoker that %s:\n%s", b.mode, out)
			}
			results := map[string]string{}
			for _, m := range revokerResultLine.FindAllStringSubmatch(string(out), -1) {
				results[m[2]] = m[1]
			}
			for _, rule := range b.mustFail {
				if results[rule] != "FAIL" {
					t.Errorf("rule %s: %q, want FAIL for a revoker that %s", rule, results[rule], b.mode)
					continue
				}
				r := findRule(rule)
				if !regexp.MustCompile(regexp.QuoteMeta(`breaks the Store contract: "` + r.contract[:40])).Match(out) {
					t.Errorf("rule %s failed without quoting its contract sentence %q", rule, r.contract)
				}
			}
			for _, rule := range []string{"set_get", b.mustPass} {
				if results[rule] != "PASS" {
					t.Errorf("rule %s: %q, want PASS (the revoker breaks only %s)", rule, results[rule], b.mode)
				}
			}
			if t.Failed() {
				t.Logf("subprocess output:\n%s", out)
			}
		})
	}
}
