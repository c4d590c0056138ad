package redisstore_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
)

// goDiffers lists, per vector and step, what this store writes differently
// from the reference, each with the documented reason; the write test
// checks that the store does exactly that. Keys are the reference's
// names, without the vector's prefix. Everything else must match: the same
// keys created, changed and deleted, with the same values, members, scores
// and TTLs (within a second).
var goDiffers = map[string]map[int]map[string]goWrite{
	"redis:login": {
		4: {
			// docs/stores.md, Record groups: Delete ends the group, so
			// the records the save replaced go too; the reference
			// leaves them readable for their stale TTL.
			"sr_redis_login:A8oO7Gbacl-K2QHrZepaAFcnr4PiI-kgZti-ShBO9Ts:sfx": {op: "deleted", why: "group"},
			"rr_redis_login:iJ8AUwdkeLyWVW1N4miGCE_kui2ZwjJMr_fcNYpnjA8:sfx": {op: "deleted", why: "group"},
		},
	},
	"redis:audiences": {
		1: {
			// docs/stores.md, The subject index: with two audiences the
			// reference indexes the raw subject; this library encodes
			// (here: hashes) every subject alike.
			"sr_redis_aud:YXBwLWE:alice@example.com:sfx":      {why: "raw subject"},
			"sr_redis_aud:YXBwLWI:alice@example.com:sfx":      {why: "raw subject"},
			"sr_redis_aud:YXBwLWE:_42YGfwOEr8NJIkuRZh-JA:sfx": {op: "changed", ttl: 3600, members: map[string]int64{"0D1wvxqVZ9NGBCV-N93Mqldi0zBtCXDonsgmZ7E54bI": 3600}, why: "raw subject"},
			"sr_redis_aud:YXBwLWI:_42YGfwOEr8NJIkuRZh-JA:sfx": {op: "created", ttl: 3600, members: map[string]int64{"0D1wvxqVZ9NGBCV-N93Mqldi0zBtCXDonsgmZ7E54bI": 3600}, why: "raw subject"},
		},
		2: {
			// docs/stores.md, Stale records: after a logout of one
			// audience the replaced record, which still holds that
			// audience, is removed at once.
			"sr_redis_aud:0D1wvxqVZ9NGBCV-N93Mqldi0zBtCXDonsgmZ7E54bI:sfx": {op: "deleted", why: "logout"},
			// The reference's index still holds the login's key, which
			// it never replaced there (raw subject, step 1).
			"sr_redis_aud:YXBwLWE:_42YGfwOEr8NJIkuRZh-JA:sfx": {op: "changed", ttl: 3600, members: map[string]int64{"qiqkgqSpImii8y6Ev_6nQuxwLKfk8gXt-n1G73FQdsk": 3600}, why: "raw subject"},
		},
		3: {
			// Delete ends the group: the login's record, replaced at
			// step 1, goes too, and the index is left empty, so Redis
			// drops it; the reference keeps the login's key listed.
			"sr_redis_aud:geVxKMqxQODp1KLutxfAKgEICkhLTAllM7SYNf7Z0C0:sfx": {op: "deleted", why: "group"},
			"sr_redis_aud:YXBwLWE:_42YGfwOEr8NJIkuRZh-JA:sfx":              {op: "deleted", why: "raw subject, group"},
		},
	},
	"redis:refresh": {
		1: {
			// docs/stores.md, Time to live: a record expires with its
			// session, min(rolling, absolute) = min(12, 15 - 10) s; the
			// reference gives it the rolling timeout. The index lives as
			// long as its longest-lived entry.
			"sr_redis_refresh:W-FrguLD3WB6nF4szcA-pAnIJ8FLGIBSzmLZIAY-C-I:sfx": {op: "created", ttl: 5, why: "ttl"},
			"sr_redis_refresh:YXBwLWE:YWxpY2VAZXhhbXBsZS5jb20:sfx":             {op: "changed", ttl: 5, members: map[string]int64{"W-FrguLD3WB6nF4szcA-pAnIJ8FLGIBSzmLZIAY-C-I": 5}, why: "ttl"},
		},
	},
}

// goWrite is what the store does to a key in a step where it differs from
// the reference: op "" leaves it as it was; ttl and members (a subject
// index's storage keys and their seconds to expiry) say what it holds after
// a create or change.
type goWrite struct {
	op      string
	ttl     int64
	members map[string]int64
	why     string
}

// change is a step's effect on one key, as seen by the store.
type change struct {
	op string // created, changed, deleted
	it item   // the key after the step
}

// snapshot reads every key of the test's prefix.
func (sv *server) snapshot(prefix string) map[string]item {
	out := map[string]item{}
	for _, k := range sv.keys(prefix) {
		if it, ok := sv.get(k); ok {
			out[k] = it
		}
	}
	return out
}

// changes compares two snapshots: a key whose value or members differ, or
// whose expiry moved by more than a second, changed.
func changes(before, after map[string]item) map[string]change {
	out := map[string]change{}
	for k, a := range after {
		b, ok := before[k]
		switch {
		case !ok:
			out[k] = change{"created", a}
		case a.typ != b.typ || a.value != b.value || !maps.Equal(a.members, b.members) ||
			(a.ttl < 0) != (b.ttl < 0) || a.exp.Sub(b.exp).Abs() > time.Second:
			out[k] = change{"changed", a}
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out[k] = change{op: "deleted"}
		}
	}
	return out
}

func abs(n int64) int64 { return max(n, -n) }

// goRun is the write test of one vector: a store with a prefix of its own,
// the pinned session ids, and the cookie jars the steps left.
type goRun struct {
	*refState
	ids  *pinnedIDs
	jars []map[string]string
}

// step runs step i here, as the reference ran it, and returns the
// Set-Cookie lines.
func (g *goRun) step(i int) []string {
	t, step := g.t, g.v.Steps[i]
	cfg, _, _ := vectorConfig(t, g.v, step)
	cfg.Store, cfg.Rand = g.st, g.ids
	at := time.Unix(step.Request.Time, 0)
	cfg.Clock = func() time.Time { return at }
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ex := &exchange{}
	if j := jarIndex(t, g.v.Steps, i); j >= 0 {
		ex.cookie = cookieHeader(g.jars[j])
	}
	s := m.NewSession(ex)
	var opErr error
	switch step.Cmd {
	case "make":
		if step.OpenFirst {
			s.Open()
		}
		if step.Subject != nil {
			s.SetSubject(*step.Subject)
		}
		s.SetData(step.Data)
		opErr = s.Save()
	case "open":
		if err := s.Open(); (err == nil) != (step.Result.Err == nil) {
			t.Errorf("step %d: open: %v, want error %v", i, err, step.Result.Err)
		}
	case "save":
		if opErr = s.Open(); opErr == nil {
			s.SetData(step.Data)
			opErr = s.Save()
		}
	case "start":
		opErr = s.Start()
	case "logout", "destroy":
		if opErr = s.Open(); opErr == nil {
			if step.Cmd == "logout" {
				opErr = s.Logout()
			} else {
				opErr = s.Destroy()
			}
		}
	default:
		t.Fatalf("step %d: unknown command %q", i, step.Cmd)
	}
	if opErr != nil {
		t.Fatalf("step %d (%s): %v", i, step.Note, opErr)
	}
	return ex.set
}

// expected returns what the store must do in step i: the reference's
// changes, under the test's prefix, with goDiffers applied.
func (g *goRun) expected(i int) map[string]goWrite {
	now := g.v.Steps[i].Request.Time
	out := map[string]goWrite{}
	for _, c := range g.v.Steps[i].Store.Changes {
		w := goWrite{op: c.Op, ttl: c.TTL}
		if c.Type == "zset" {
			w.members = map[string]int64{}
			for _, m := range c.Members {
				w.members[m.Member] = m.ScoreAt - now
			}
		}
		out[g.local(c.Key)] = w
	}
	for k, w := range goDiffers[g.v.Name][i] {
		out[g.prefix+k] = w
	}
	return out
}

// compare checks the store's changes in step i against expected. The
// store's group keys ("{prefix:...}...") are its own, never the
// reference's: they are left out.
func (g *goRun) compare(i int, got map[string]change) {
	t, step := g.t, g.v.Steps[i]
	now := step.Request.Time
	want := g.expected(i)
	ref := map[string]refChange{}
	for _, c := range step.Store.Changes {
		ref[g.local(c.Key)] = c
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		w, c := want[k], got[k]
		if w.op != c.op {
			t.Errorf("step %d: %s: %q here, want %q (%s)", i, k, c.op, w.op, why(w))
			continue
		}
		if c.op == "" || c.op == "deleted" {
			continue
		}
		if w.ttl < 0 && c.it.ttl != -1 || w.ttl >= 0 && abs(c.it.ttl-w.ttl) > 1 {
			t.Errorf("step %d: %s: ttl %d, want %d (%s)", i, k, c.it.ttl, w.ttl, why(w))
		}
		if w.members != nil {
			got := map[string]int64{}
			for m, score := range c.it.members {
				got[m] = score - now
			}
			if !sameMembers(got, w.members) {
				t.Errorf("step %d: index %s = %v, want %v (%s)", i, k, got, w.members, why(w))
			}
			continue
		}
		if r, ok := ref[k]; ok && (c.it.typ != "string" || c.it.value != r.Value) {
			t.Errorf("step %d: %s = %s %q, want the reference's %q", i, k, c.it.typ, c.it.value, r.Value)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok && !strings.HasPrefix(k, "{") {
			t.Errorf("step %d: %s %s here, which the reference left alone", i, k, got[k].op)
		}
	}
}

// sameMembers compares index members, expiries within a second.
func sameMembers(got, want map[string]int64) bool {
	return maps.EqualFunc(got, want, func(g, w int64) bool { return abs(g-w) <= 1 })
}

func why(w goWrite) string {
	if w.why == "" {
		return "as the reference"
	}
	return "documented difference: " + w.why
}

// TestVectorsWriteLikeReference runs the steps of the store vectors here,
// with the reference's session ids and clock, and compares what the store
// writes with what the reference wrote: the same keys created, changed and
// deleted, with the same values, members, scores and TTLs, and the same
// cookies, but for the differences goDiffers lists.
func TestVectorsWriteLikeReference(t *testing.T) {
	t.Parallel()
	c := connect(t, modes[0])
	for _, v := range loadRefVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			g := &goRun{refState: newRefState(t, c, v), ids: &pinnedIDs{pin: v.Pin}, jars: make([]map[string]string, len(v.Steps))}
			p := strings.TrimSuffix(g.prefix, ":")
			for i := range goDiffers[v.Name] {
				if i >= len(v.Steps) {
					t.Fatalf("goDiffers names step %d of %s, which has %d", i, v.Name, len(v.Steps))
				}
			}
			for i, step := range v.Steps {
				if i > 0 {
					// The server's clock moves on with the library's.
					g.sv.advance(p, step.Request.Time-v.Steps[i-1].Request.Time)
				}
				drawn := g.ids.n
				before := g.sv.snapshot(p)
				lines := g.step(i)
				g.compare(i, changes(before, g.sv.snapshot(p)))

				if got, want := g.ids.n-drawn, len(step.SIDs); got != want {
					t.Errorf("step %d: %d session ids drawn, want %d", i, got, want)
				}
				prev := map[string]string{}
				if j := jarIndex(t, v.Steps, i); j >= 0 {
					prev = g.jars[j]
				}
				g.jars[i] = applyCookies(prev, lines)
				if !maps.Equal(g.jars[i], step.JarAfter) {
					t.Errorf("step %d: cookies %v, want the reference's %v", i, g.jars[i], step.JarAfter)
				}
			}
		})
	}
}
