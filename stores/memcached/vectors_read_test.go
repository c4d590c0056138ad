package memcachedstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
)

// refState is a test server holding, under a prefix of its own, the items
// the reference wrote in a vector's steps.
type refState struct {
	t         *testing.T
	v         refVector
	sv        *server
	st        *memcachedstore.Store
	refPrefix string // the vector's prefix, escaped with its ':'
	prefix    string // the test's, likewise
	items     map[string]*refChange
}

func newRefState(t *testing.T, c *memcache.Client, v refVector) *refState {
	t.Helper()
	_, refPrefix := vectorConfig(t, v, v.Steps[0])
	p := testPrefix()
	return &refState{
		t: t, v: v, sv: newServer(t, c),
		st:        mustNew(t, c, memcachedstore.WithPrefix(p)),
		refPrefix: refPrefix + "%3A",
		prefix:    p + "%3A",
		items:     map[string]*refChange{},
	}
}

// local returns the test's name of an item the reference named.
func (r *refState) local(key string) string {
	rest, ok := strings.CutPrefix(key, r.refPrefix)
	if !ok {
		r.t.Fatalf("item %q is not under the vector's prefix %q", key, r.refPrefix)
	}
	return r.prefix + rest
}

// parts splits a local item name into the parts of the reference's name:
// cookie name and storage key for a record, cookie name, audience and
// subject for a subject index list.
func (r *refState) parts(local string) []string {
	return strings.Split(strings.TrimPrefix(local, r.prefix), "%3A")
}

// load writes what step i of the reference created, changed or deleted. A
// TTL shorter than readableTTL gets readableTTL, so that a loaded machine
// still reads the item.
func (r *refState) load(i int) {
	for _, c := range r.v.Steps[i].Store.Changes {
		k := r.local(c.Key)
		if c.Op == "deleted" {
			r.sv.del(k)
			delete(r.items, k)
			continue
		}
		ttl := c.TTL
		if ttl >= 0 {
			ttl = max(ttl, int64(readableTTL/time.Second))
		}
		r.sv.put(k, item{value: c.Value, flags: c.Flags, ttl: ttl})
		r.items[k] = &c
	}
}

// subject is the vector's subject.
func (r *refState) subject() string {
	for _, s := range r.v.Steps {
		if s.Subject != nil {
			return *s.Subject
		}
	}
	r.t.Fatal("vector without a subject")
	return ""
}

// audiences are the audiences of the vector's sessions.
func (r *refState) audiences() []string {
	var out []string
	for _, s := range r.v.Steps {
		for _, e := range s.Result.Session.Entries {
			if !slices.Contains(out, e.Audience) {
				out = append(out, e.Audience)
			}
		}
	}
	return out
}

// listed returns the sessions that the reference's lists of audience hold
// at step i's time, as the reference reads them (meta_get_latest), from the
// lists that Manager.Sessions reads (encoded): under the subject as the
// session library encodes it, and under the subject as given, where the
// reference indexes its sessions of several audiences; and from the lists
// under any other subject (others).
func (r *refState) listed(i int, audience string) (encoded, others []store.IndexEntry) {
	cfg, _ := vectorConfig(r.t, r.v, r.v.Steps[i])
	now := r.v.Steps[i].Request.Time
	sub := encodedSubject(cfg, r.subject())
	for k, c := range r.items {
		p := r.parts(k)
		if len(p) != 3 || p[1] != b64(audience) {
			continue
		}
		live := map[string]int64{}
		for _, e := range c.Index {
			if e.Invalidated || e.ExpAt <= now {
				delete(live, e.Key)
			} else {
				live[e.Key] = e.ExpAt
			}
		}
		for key, exp := range live {
			e := store.IndexEntry{Key: key, Expires: time.Unix(exp, 0), Remember: p[0] == cfg.RememberCookieName}
			if raw, _ := url.PathUnescape(p[2]); p[2] == sub || raw == r.subject() {
				encoded = append(encoded, e)
			} else {
				others = append(others, e)
			}
		}
	}
	return encoded, others
}

// manager returns a Manager of step i's configuration on the store, in
// audience, on the step's clock.
func (r *refState) manager(i int, audience string) *session.Manager {
	cfg, _ := vectorConfig(r.t, r.v, r.v.Steps[i])
	cfg.Audience, cfg.Store = audience, r.st
	at := time.Unix(r.v.Steps[i].Request.Time, 0)
	cfg.Clock = func() time.Time { return at }
	m, err := session.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// checkIndex compares Manager.Sessions with the reference's lists.
func (r *refState) checkIndex(i int) {
	for _, aud := range r.audiences() {
		want, others := r.listed(i, aud)
		got, err := r.manager(i, aud).Sessions(context.Background(), r.subject())
		if err != nil {
			r.t.Fatalf("step %d: Sessions(%s): %v", i, aud, err)
		}
		if !sameEntries(got, want) {
			r.t.Errorf("step %d: Sessions(%s) = %v, want %v (the reference's lists)", i, aud, got, want)
		}
		// Nothing comes from the index of another subject.
		for _, e := range others {
			if hasKey(got, e.Key) && !hasKey(want, e.Key) {
				r.t.Errorf("step %d: Sessions(%s) lists %s, which the reference listed under another subject only", i, aud, e.Key)
			}
		}
	}
}

// sameEntries compares index entries, expiries within a second (the
// reference's storage calls may run a second after the request's time).
func sameEntries(got, want []store.IndexEntry) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		i := slices.IndexFunc(got, func(g store.IndexEntry) bool { return g.Key == w.Key && g.Remember == w.Remember })
		if i < 0 || got[i].Expires.Sub(w.Expires).Abs() > time.Second {
			return false
		}
	}
	return true
}

// checkOpen opens the cookies of an open step.
func (r *refState) checkOpen(i int) {
	step := r.v.Steps[i]
	aud := r.audiences()[0]
	if step.Result.Audience != nil {
		aud = *step.Result.Audience
	}
	s, err := openAs(r.t, r.v, step, r.st, aud, *step.Request.CookieHeader)
	what := fmt.Sprintf("step %d (%s)", i, step.Note)
	if step.Result.Err != nil {
		wantLoadError(r.t, what, err, *step.Result.Err)
		return
	}
	wantOpen(r.t, what, s, err, refEntry{Audience: aud, Data: step.Result.Data, Subject: step.Result.Subject})
}

// checkJar opens the cookies a step left with each audience they hold.
func (r *refState) checkJar(i int) {
	step := r.v.Steps[i]
	if step.Cmd == "open" || len(step.JarAfter) == 0 {
		return
	}
	for _, e := range step.Result.Session.Entries {
		s, err := openAs(r.t, r.v, step, r.st, e.Audience, cookieHeader(step.JarAfter))
		wantOpen(r.t, fmt.Sprintf("step %d: the cookies it set, audience %s", i, e.Audience), s, err, e)
	}
}

// storageKey returns the storage key of a cookie: its session id (bytes 3
// to 35 of the header), base64url, or with hash_storage_key its SHA-256.
func storageKey(t *testing.T, cfg session.Config, cookie string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(cookie[:47])
	if err != nil || len(raw) < 35 {
		t.Fatalf("cookie %q: %v", cookie, err)
	}
	sid := raw[3:35]
	if cfg.HashStorageKey {
		sum := sha256.Sum256(sid)
		sid = sum[:]
	}
	return base64.RawURLEncoding.EncodeToString(sid)
}

// offline is the reference's items after step k, without a server.
func offline(t *testing.T, v refVector, k int) *refState {
	_, p := vectorConfig(t, v, v.Steps[0])
	r := &refState{t: t, v: v, refPrefix: p + "%3A", prefix: p + "%3A", items: map[string]*refChange{}}
	for i := range k + 1 {
		for _, c := range v.Steps[i].Store.Changes {
			if c.Op == "deleted" {
				delete(r.items, c.Key)
			} else {
				r.items[c.Key] = &c
			}
		}
	}
	return r
}

// revokeLeaves counts, per vector and step, the records that
// RevokeSessions leaves readable, as documented: the reference's records
// have no group, so the records a rotation replaced stay readable for their
// stale TTL. (A session of several audiences, which the reference indexes
// under the subject as given, is found and revoked.)
var revokeLeaves = map[string]int{
	"memcached:login/2":   2, // the login's session and remember records, replaced by the save
	"memcached:login/3":   2,
	"memcached:refresh/1": 1, // the record the refresh replaced
}

// checkRevoke loads the reference's items up to step k and revokes the
// subject's sessions: the records Sessions listed are gone and their
// cookies no longer open; every other record is left as it was.
func checkRevoke(t *testing.T, c *memcache.Client, v refVector, k int) {
	r := newRefState(t, c, v)
	for i := range k + 1 {
		r.load(i)
	}
	aud := r.audiences()[0]
	cfg, _ := vectorConfig(t, v, v.Steps[k])
	want, _ := r.listed(k, aud)
	m := r.manager(k, aud)
	ctx := context.Background()
	n, err := m.RevokeSessions(ctx, r.subject())
	if err != nil || n != len(want) {
		t.Fatalf("RevokeSessions = %d, %v; want the %d listed records", n, err, len(want))
	}
	if got, err := m.Sessions(ctx, r.subject()); err != nil || len(got) != 0 {
		t.Fatalf("Sessions after RevokeSessions = %v, %v; want none", got, err)
	}
	left := 0
	for lk := range r.items {
		p := r.parts(lk)
		if len(p) != 2 {
			continue
		}
		revoked := slices.ContainsFunc(want, func(e store.IndexEntry) bool {
			return e.Key == p[1] && e.Remember == (p[0] == cfg.RememberCookieName)
		})
		_, ok := r.sv.get(lk)
		switch {
		case revoked && ok:
			t.Errorf("record %s listed and revoked, still there", lk)
		case !revoked && !ok:
			t.Errorf("record %s not listed, yet removed", lk)
		case !revoked:
			left++
		}
	}
	if want := revokeLeaves[fmt.Sprintf("%s/%d", v.Name, k)]; left != want {
		t.Errorf("RevokeSessions left %d records readable, want %d", left, want)
	}
	for name, cookie := range v.Steps[k].JarAfter {
		_, ok := r.sv.get(r.prefix + name + "%3A" + storageKey(t, cfg, cookie))
		s, err := openAs(t, v, v.Steps[k], r.st, aud, name+"="+cookie)
		switch {
		case ok && err != nil:
			t.Errorf("cookie %s, whose record was not revoked: %v", name, err)
		case !ok && (err == nil || !errors.Is(err, session.ErrNotFound)):
			t.Errorf("cookie %s, whose record was revoked: exists %v, %v; want ErrNotFound", name, s.Exists(), err)
		}
	}
}

// TestVectorsReadReference loads what the reference wrote into memcached,
// step by step, and uses it here: the cookies the reference made open with
// its data, subject and audience, Manager.Sessions lists what its subject
// index lists, RevokeSessions removes those records, and a remember cookie
// alone restores its session.
func TestVectorsReadReference(t *testing.T) {
	t.Parallel()
	c := connect(t)
	for _, v := range loadRefVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("open", func(t *testing.T) {
				t.Parallel()
				r := newRefState(t, c, v)
				for i, step := range v.Steps {
					if step.Cmd == "open" {
						r.checkOpen(i) // an open step changes nothing
					}
					r.load(i)
					r.checkJar(i)
					r.checkIndex(i)
				}
			})
			for k := range v.Steps {
				if want, _ := offline(t, v, k).listed(k, offline(t, v, k).audiences()[0]); len(want) > 0 {
					t.Run(fmt.Sprintf("revoke_after_step_%d", k), func(t *testing.T) {
						t.Parallel()
						checkRevoke(t, c, v, k)
					})
				}
				cfg, _ := vectorConfig(t, v, v.Steps[k])
				if cookie, ok := v.Steps[k].JarAfter[cfg.RememberCookieName]; ok && v.Steps[k].Cmd != "open" && cfg.Remember {
					t.Run(fmt.Sprintf("remember_after_step_%d", k), func(t *testing.T) {
						t.Parallel()
						r := newRefState(t, c, v)
						for i := range k + 1 {
							r.load(i)
						}
						for _, e := range v.Steps[k].Result.Session.Entries {
							s, err := openAs(t, v, v.Steps[k], r.st, e.Audience, cfg.RememberCookieName+"="+cookie)
							wantOpen(t, "the remember cookie alone", s, err, e)
						}
					})
				}
			}
		})
	}
}
