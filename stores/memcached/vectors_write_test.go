package memcachedstore_test

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
)

// goDiffers lists, per vector and step, what this store writes differently
// from the reference, each with the documented reason; the write test
// checks that the store does exactly that. Keys are the reference's
// names, without the vector's prefix. Everything else must match: the same
// items created, changed and deleted, with the same values, flags and TTLs
// (within a second), and index lists with the same live sessions.
var goDiffers = map[string]map[int]map[string]goWrite{
	"memcached:login": {
		4: {
			// docs/stores.md, Record groups: Delete ends the group, so
			// the records the save replaced go too; the reference
			// leaves them readable for their stale TTL.
			"sr_memc_login%3AzNqLg0GygW7PLpTGsgWR97GWucWpAXGQTVN2CISqDjs": {op: "deleted", why: "group"},
			"rr_memc_login%3AHRHAbQXTBHC6-gBARiCbgUj98VP5RiuYMPfUvVuJHX0": {op: "deleted", why: "group"},
		},
	},
	"memcached:audiences": {
		1: {
			// docs/stores.md, The subject index: with two audiences the
			// reference indexes the raw subject; this library encodes
			// every subject alike, so it writes the lists of the
			// encoded subject (the first one exists since step 0, and
			// is compacted as the store compacts every list it appends
			// to).
			"sr_memc_aud%3AYXBwLWE%3Aalice%40example.com":     {why: "raw subject"},
			"sr_memc_aud%3AYXBwLWI%3Aalice%40example.com":     {why: "raw subject"},
			"sr_memc_aud%3AYXBwLWE%3AYWxpY2VAZXhhbXBsZS5jb20": {op: "changed", ttl: -1, live: []string{"PEHWPqLKAlG_X47hc1KOHc6dXiJN2BCWeBLrYRX0C60:3600"}, why: "raw subject"},
			"sr_memc_aud%3AYXBwLWI%3AYWxpY2VAZXhhbXBsZS5jb20": {op: "created", ttl: -1, live: []string{"PEHWPqLKAlG_X47hc1KOHc6dXiJN2BCWeBLrYRX0C60:3600"}, why: "raw subject"},
		},
		2: {
			// docs/stores.md, Stale records: after a logout of one
			// audience the replaced record, which still holds that
			// audience, is removed at once.
			"sr_memc_aud%3APEHWPqLKAlG_X47hc1KOHc6dXiJN2BCWeBLrYRX0C60": {op: "deleted", why: "logout"},
			// The reference's list still holds the login's key, which
			// it never replaced there (raw subject, step 1).
			"sr_memc_aud%3AYXBwLWE%3AYWxpY2VAZXhhbXBsZS5jb20": {op: "changed", ttl: -1, live: []string{"G6eIiOUypNr0soou_CA_paFMBHFeLjs_XrIFDph2MoQ:3600"}, why: "raw subject"},
		},
		3: {
			// Delete ends the group: the login's record, replaced at
			// step 1, goes too, and the list is left empty, so it is
			// deleted; the reference keeps the login's key listed.
			"sr_memc_aud%3A9Y72mXooKKFwJUY0N79RORyxaVmfpN-L75cCbTE8R4c": {op: "deleted", why: "group"},
			"sr_memc_aud%3AYXBwLWE%3AYWxpY2VAZXhhbXBsZS5jb20":           {op: "deleted", why: "raw subject, group"},
		},
	},
	"memcached:refresh": {
		1: {
			// docs/stores.md, Time to live: a record expires with its
			// session, min(rolling, absolute) = min(12, 15 - 10) s; the
			// reference gives it the rolling timeout.
			"sr_memc_refresh%3AL139X1swdhGjjthk6KQivhwVvRApV3TmfES03iN10wU": {op: "created", ttl: 5, why: "ttl"},
			"sr_memc_refresh%3AYXBwLWE%3AYWxpY2VAZXhhbXBsZS5jb20":           {op: "changed", ttl: -1, live: []string{"L139X1swdhGjjthk6KQivhwVvRApV3TmfES03iN10wU:5"}, why: "ttl"},
			// README, Sharing: the stale TTL only ever shortens a
			// record; the old record expires in 2 s, sooner than the
			// stale TTL (5 s), and is left alone. The reference's
			// memcached storage touches it to 5 s.
			"sr_memc_refresh%3AY9EOJHm816OWZbM1xKe_FXfgcE9pAK0XG4gJsGETdSI": {why: "stale ttl"},
		},
	},
}

// goWrite is what the store does to an item in a step where it differs
// from the reference: op "" leaves it as it was; ttl (when not 0) and live
// (an index list's live sessions, "key:seconds to expiry") say what it
// holds after a create or change.
type goWrite struct {
	op   string
	ttl  int64
	live []string
	why  string
}

// change is a step's effect on one item, as seen by the store.
type change struct {
	op string // created, changed, deleted
	it item   // the item after the step
}

// snapshot reads keys.
func (sv *server) snapshot(keys []string) map[string]item {
	out := map[string]item{}
	for _, k := range keys {
		if it, ok := sv.get(k); ok {
			out[k] = it
		}
	}
	return out
}

// changes compares two snapshots: an item whose value or flags differ, or
// whose expiry moved by more than two seconds (memcached reports whole
// seconds), changed.
func changes(before, after map[string]item) map[string]change {
	out := map[string]change{}
	for k, a := range after {
		b, ok := before[k]
		switch {
		case !ok:
			out[k] = change{"created", a}
		case a.value != b.value || a.flags != b.flags || (a.ttl < 0) != (b.ttl < 0) || a.exp.Sub(b.exp).Abs() > 2*time.Second:
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

// liveEntries returns the live sessions of an index list at now, as
// "key:seconds to expiry", sorted: the reference's meta_get_latest.
func liveEntries(t *testing.T, list string, now int64) []string {
	t.Helper()
	live := map[string]int64{}
	for _, e := range strings.Split(strings.TrimSuffix(list, ";"), ";") {
		if e == "" {
			continue
		}
		key, enc, ok := strings.Cut(e, ":")
		if !ok {
			delete(live, key)
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || len(raw) != 5 {
			t.Fatalf("index entry %q: %v", e, err)
		}
		var exp int64
		for i, b := range raw {
			exp |= int64(b) << (8 * i)
		}
		if exp > now {
			live[key] = exp
		} else {
			delete(live, key)
		}
	}
	out := make([]string, 0, len(live))
	for k, exp := range live {
		out = append(out, fmt.Sprintf("%s:%d", k, exp-now))
	}
	slices.Sort(out)
	return out
}

// sameLive compares live entries, expiries within a second.
func sameLive(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		gk, gs, _ := strings.Cut(got[i], ":")
		wk, ws, _ := strings.Cut(want[i], ":")
		var g, w int64
		fmt.Sscan(gs, &g)
		fmt.Sscan(ws, &w)
		if gk != wk || abs(g-w) > 1 {
			return false
		}
	}
	return true
}

// goRun is the write test of one vector: a store with a prefix of its own,
// the pinned session ids, and the cookie jars the steps left.
type goRun struct {
	*refState
	ids  *pinnedIDs
	jars []map[string]string
	keys []string // the items compared: the reference's and the store's index lists
}

// step runs step i here, as the reference ran it, and returns the
// Set-Cookie lines.
func (g *goRun) step(i int) []string {
	t, step := g.t, g.v.Steps[i]
	cfg, _ := vectorConfig(t, g.v, step)
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
	out := map[string]goWrite{}
	for _, c := range g.v.Steps[i].Store.Changes {
		w := goWrite{op: c.Op, ttl: c.TTL}
		if len(c.Index) > 0 {
			w.live = liveEntries(g.t, c.Value, g.v.Steps[i].Request.Time)
		}
		out[g.local(c.Key)] = w
	}
	for k, w := range goDiffers[g.v.Name][i] {
		out[g.prefix+k] = w
	}
	return out
}

// compare checks the store's changes in step i against expected.
func (g *goRun) compare(i int, got map[string]change) {
	t, step := g.t, g.v.Steps[i]
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
		if c.it.flags != 0 {
			t.Errorf("step %d: %s: flags %d, want 0 as the reference writes them", i, k, c.it.flags)
		}
		wantTTL := w.ttl
		if wantTTL < 0 {
			if c.it.ttl != -1 {
				t.Errorf("step %d: %s: ttl %d, want none (%s)", i, k, c.it.ttl, why(w))
			}
		} else if abs(c.it.ttl-wantTTL) > 1 {
			t.Errorf("step %d: %s: ttl %d, want %d (%s)", i, k, c.it.ttl, wantTTL, why(w))
		}
		if w.live != nil {
			// An index list: the same live sessions. The store compacts
			// every list it appends to (README, Sharing), so its value is
			// the reference's, or its live entries only.
			live := liveEntries(t, c.it.value, step.Request.Time)
			if !sameLive(live, w.live) {
				t.Errorf("step %d: index %s lists %v, want %v (%s)", i, k, live, w.live, why(w))
			}
			if r, ok := ref[k]; ok && w.why == "" && c.it.value != r.Value && strings.Count(c.it.value, ";") != len(live) {
				t.Errorf("step %d: index %s = %q, neither the reference's %q nor compacted", i, k, c.it.value, r.Value)
			}
			continue
		}
		if r, ok := ref[k]; ok && c.it.value != r.Value {
			t.Errorf("step %d: %s = %q, want the reference's %q", i, k, c.it.value, r.Value)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("step %d: %s %s here, which the reference left alone", i, k, got[k].op)
		}
	}
}

func why(w goWrite) string {
	if w.why == "" {
		return "as the reference"
	}
	return "documented difference: " + w.why
}

// candidates are the items compared: every item of the reference, and the
// index lists of the encoded subject in every audience under both cookie
// names.
func (g *goRun) candidates() []string {
	set := map[string]bool{}
	for _, s := range g.v.Steps {
		for _, c := range s.Store.Changes {
			set[g.local(c.Key)] = true
		}
	}
	cfg, _ := vectorConfig(g.t, g.v, g.v.Steps[0])
	for _, name := range []string{cfg.CookieName, cfg.RememberCookieName} {
		if name == "" {
			continue
		}
		for _, aud := range g.audiences() {
			set[g.st.IndexKey(name, b64(aud), encodedSubject(cfg, g.subject()))] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// ownItems are the store's own items beside the candidates: the group
// pointers of the records and the member lists they name.
func (g *goRun) ownItems() []string {
	var out []string
	for _, k := range g.keys {
		p := g.parts(k)
		if len(p) != 2 {
			continue
		}
		pk := memcachedstore.PointerKey(g.st, p[0], p[1])
		out = append(out, pk)
		if it, ok := g.sv.get(pk); ok && it.value != "" {
			out = append(out, memcachedstore.GroupKey(g.st, it.value))
		}
	}
	return out
}

// TestVectorsWriteLikeReference runs the steps of the store vectors here,
// with the reference's session ids and clock, and compares what the store
// writes with what the reference wrote: the same items created, changed
// and deleted, with the same values, flags 0 and the same TTLs, and the
// same cookies, but for the differences goDiffers lists.
func TestVectorsWriteLikeReference(t *testing.T) {
	t.Parallel()
	c := connect(t)
	for _, v := range loadRefVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			g := &goRun{refState: newRefState(t, c, v), ids: &pinnedIDs{pin: v.Pin}, jars: make([]map[string]string, len(v.Steps))}
			g.keys = g.candidates()
			for i := range goDiffers[v.Name] {
				if i >= len(v.Steps) {
					t.Fatalf("goDiffers names step %d of %s, which has %d", i, v.Name, len(v.Steps))
				}
			}
			for i, step := range v.Steps {
				if i > 0 {
					// The server's clock moves on with the library's.
					g.sv.advance(append(g.ownItems(), g.keys...), step.Request.Time-v.Steps[i-1].Request.Time)
				}
				drawn := g.ids.n
				before := g.sv.snapshot(g.keys)
				lines := g.step(i)
				g.compare(i, changes(before, g.sv.snapshot(g.keys)))

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
			// Clean up the store's own items too.
			for _, k := range g.ownItems() {
				g.sv.keys[k] = true
			}
		})
	}
}
