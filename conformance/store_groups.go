package conformance

import (
	"errors"
	"fmt"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// The sentences of the contract (core/store/store.go) that the group, rotation
// and replace rules test.
const (
	cOldKeyMissing  = "If no record is readable under OldKey, Set stores nothing and returns an error that matches ErrNotFound: the session was destroyed, revoked or has expired meanwhile, and must not come back."
	cGroups         = "Records form groups, one per browser session: a record set with OldKey joins the group of the OldKey record, a record set with opts.Partner joins the group of the partner record (Partner wins when both are set), and any other record starts a group of its own."
	cPartnerMissing = "If no record is readable under Partner, Set stores nothing and returns an error that matches ErrNotFound."
	cGroupDelete    = "Delete removes the record under name and key together with every other record of its group (the stale records it replaced, the records that replaced it, and its partner records under the other cookie name), so that no cookie of that browser session opens again."
	cReplace        = "When opts.Replace is set, Set only replaces the value of an existing record, keeping its expiry, its group and its index entries; OldKey, Partner and Metadata are ignored."
	cReplaceMissing = "If no record is readable under key, Set stores nothing and returns an error that matches ErrNotFound."
)

func init() {
	storeRules = append(storeRules,
		&storeRule{name: "old_key_missing", contract: cOldKeyMissing, run: ruleOldKeyMissing},
		&storeRule{name: "group_chain", contract: cGroupDelete, run: ruleGroupChain},
		&storeRule{name: "group_delete_stale_member", contract: cGroupDelete, run: ruleGroupDeleteStale},
		&storeRule{name: "group_forks", contract: cGroupDelete, run: ruleGroupForks},
		&storeRule{name: "group_partner", contract: cGroups, run: ruleGroupPartner},
		&storeRule{name: "group_apart", contract: cGroups, run: ruleGroupApart},
		&storeRule{name: "partner_missing", contract: cPartnerMissing, run: rulePartnerMissing},
		&storeRule{name: "group_index", contract: cGroupDelete, index: true, run: ruleGroupIndex},
		&storeRule{name: "replace", contract: cReplace, run: ruleReplace},
		&storeRule{name: "replace_index", contract: cReplace, index: true, run: ruleReplaceIndex},
		&storeRule{name: "replace_missing", contract: cReplaceMissing, run: ruleReplaceMissing},
	)
}

// setErr calls Set and returns its error.
func (c *storeCase) setErr(name, key string, value []byte, o store.SetOptions) error {
	if o.Now.IsZero() {
		o.Now = c.now()
	}
	if o.TTL == 0 {
		o.TTL = longTTL
	}
	return c.st.Set(c.ctx, name, key, value, o)
}

// wantSetNotFound checks that a Set fails with ErrNotFound and stores
// nothing.
func (c *storeCase) wantSetNotFound(name, key string, o store.SetOptions, why string) {
	c.t.Helper()
	err := c.setErr(name, key, []byte("must not be stored"), o)
	if err == nil {
		c.fatalf("%s: Set returned no error; want an error matching session.ErrNotFound", why)
	}
	if !errors.Is(err, session.ErrNotFound) {
		c.fatalf("%s: Set error %q does not match session.ErrNotFound", why, err)
	}
	c.wantMissing(name, key, why+": the record Set refused")
}

// rotate sets next as the rotation of old with a long stale TTL, as a
// save of the session library does.
func (c *storeCase) rotate(name, old, next string, partner store.RecordKey) {
	c.t.Helper()
	c.set(name, next, []byte("rotated from "+old), store.SetOptions{OldKey: old, StaleTTL: longTTL, Partner: partner})
}

func ruleOldKeyMissing(c *storeCase) {
	c.wantSetNotFound(sessionName, newKey(), store.SetOptions{OldKey: newKey(), StaleTTL: longTTL}, "OldKey never set")

	deleted := newKey()
	c.set(sessionName, deleted, []byte("v"), store.SetOptions{})
	c.del(sessionName, deleted, nil)
	c.wantSetNotFound(sessionName, newKey(), store.SetOptions{OldKey: deleted, StaleTTL: longTTL}, "OldKey deleted (a destroyed or revoked session)")

	expired := newKey()
	c.set(sessionName, expired, []byte("v"), store.SetOptions{TTL: shortTTL})
	other := newKey() // the same key under another cookie name does not count
	c.set(rememberName, other, []byte("v"), store.SetOptions{})
	c.wantSetNotFound(sessionName, newKey(), store.SetOptions{OldKey: other, StaleTTL: longTTL}, "OldKey set under another cookie name only")
	c.expire(c.missing(sessionName, expired))
	c.wantSetNotFound(sessionName, newKey(), store.SetOptions{OldKey: expired, StaleTTL: longTTL}, "OldKey expired")
}

func ruleGroupChain(c *storeCase) {
	s1, s2, s3, other := newKey(), newKey(), newKey(), newKey()
	c.set(sessionName, s1, []byte("v"), store.SetOptions{})
	c.set(sessionName, other, []byte("another browser"), store.SetOptions{})
	c.rotate(sessionName, s1, s2, store.RecordKey{})
	c.rotate(sessionName, s2, s3, store.RecordKey{})
	c.wantValue(sessionName, s1, []byte("v"), "the first record of a chain within its stale TTL")
	c.del(sessionName, s3, nil)
	for i, k := range []string{s1, s2, s3} {
		c.wantMissing(sessionName, k, fmt.Sprintf("record %d of a chain s1 -> s2 -> s3 after Delete of s3", i+1))
	}
	c.wantValue(sessionName, other, []byte("another browser"), "a record of another group after a group Delete")
}

func ruleGroupDeleteStale(c *storeCase) {
	s1, s2 := newKey(), newKey()
	c.set(sessionName, s1, []byte("v"), store.SetOptions{})
	c.rotate(sessionName, s1, s2, store.RecordKey{})
	c.del(sessionName, s1, nil)
	c.wantMissing(sessionName, s2, "the record that replaced s1, after Delete of the stale s1")
}

func ruleGroupForks(c *storeCase) {
	s1, a, b := newKey(), newKey(), newKey()
	c.set(sessionName, s1, []byte("v"), store.SetOptions{})
	// Two requests that carried the same cookie both saved.
	c.rotate(sessionName, s1, a, store.RecordKey{})
	c.rotate(sessionName, s1, b, store.RecordKey{})
	c.wantValue(sessionName, b, []byte("rotated from "+s1), "a second rotation of the same old key within its stale TTL")
	c.del(sessionName, a, nil)
	c.wantMissing(sessionName, b, "a fork (the other rotation of s1) after Delete of one rotation")
	c.wantMissing(sessionName, s1, "the record both forks replaced")
}

func ruleGroupPartner(c *storeCase) {
	// Save: the session record first, the remember record with it as
	// partner; then a rotation of the session record alone (a refresh).
	s1, r1, s2 := newKey(), newKey(), newKey()
	c.set(sessionName, s1, []byte("session"), store.SetOptions{})
	c.set(rememberName, r1, []byte("remember"), store.SetOptions{Partner: store.RecordKey{Name: sessionName, Key: s1}})
	c.rotate(sessionName, s1, s2, store.RecordKey{})
	c.del(rememberName, r1, nil)
	c.wantMissing(sessionName, s2, "the session record (rotated) after Delete of its partner remember record")
	c.wantMissing(sessionName, s1, "the session record after Delete of its partner remember record")

	// Restore: the remember record first, the session record with it as
	// partner, which wins over OldKey.
	r2, s3, s4, loose := newKey(), newKey(), newKey(), newKey()
	c.set(rememberName, r2, []byte("remember"), store.SetOptions{})
	c.set(sessionName, loose, []byte("an unrelated session"), store.SetOptions{})
	c.set(sessionName, s3, []byte("session"), store.SetOptions{Partner: store.RecordKey{Name: rememberName, Key: r2}})
	c.set(sessionName, s4, []byte("session"), store.SetOptions{OldKey: loose, StaleTTL: longTTL, Partner: store.RecordKey{Name: rememberName, Key: r2}})
	c.del(sessionName, s3, nil)
	c.wantMissing(rememberName, r2, "the remember record after Delete of its partner session record")
	c.wantMissing(sessionName, s4, "a record set with both OldKey and Partner, after Delete in the Partner's group")
	c.cite = cGroups
	c.wantValue(sessionName, loose, []byte("an unrelated session"), "the OldKey record of a Set whose Partner wins (it stays in its own group)")
}

func ruleGroupApart(c *storeCase) {
	// The same storage key under another cookie name is another record of
	// another group (a store keyed by the storage key alone holds one).
	if !c.opts.SharedKeys {
		key, next := newKey(), newKey()
		c.set(sessionName, key, []byte("session"), store.SetOptions{})
		c.set(rememberName, key, []byte("remember"), store.SetOptions{})
		c.rotate(sessionName, key, next, store.RecordKey{})
		c.del(sessionName, next, nil)
		c.wantMissing(sessionName, key, "the stale record of a deleted group")
		c.wantValue(rememberName, key, []byte("remember"), "a record of another group with the same key under another cookie name")
	}

	// A plain Set over an existing key does not merge groups.
	a, b := newKey(), newKey()
	c.set(sessionName, a, []byte("a"), store.SetOptions{})
	c.set(sessionName, b, []byte("b"), store.SetOptions{})
	c.set(sessionName, a, []byte("a again"), store.SetOptions{})
	c.del(sessionName, a, nil)
	c.wantValue(sessionName, b, []byte("b"), "a record of its own group after Delete of another")
}

func rulePartnerMissing(c *storeCase) {
	c.wantSetNotFound(rememberName, newKey(), store.SetOptions{Partner: store.RecordKey{Name: sessionName, Key: newKey()}}, "Partner never set")
	deleted := newKey()
	c.set(sessionName, deleted, []byte("v"), store.SetOptions{})
	c.del(sessionName, deleted, nil)
	c.wantSetNotFound(rememberName, newKey(), store.SetOptions{Partner: store.RecordKey{Name: sessionName, Key: deleted}}, "Partner deleted")
}

func ruleGroupIndex(c *storeCase) {
	md := metadata(1)
	aud, sub := md.Audiences[0], md.Subjects[0]
	s1, s2, r1, kept := newKey(), newKey(), newKey(), newKey()
	c.set(sessionName, s1, []byte("v"), store.SetOptions{Metadata: md})
	c.set(rememberName, r1, []byte("v"), store.SetOptions{Metadata: md, Partner: store.RecordKey{Name: sessionName, Key: s1}})
	c.set(sessionName, s2, []byte("v"), store.SetOptions{Metadata: md, OldKey: s1, StaleTTL: longTTL})
	c.set(sessionName, kept, []byte("v"), store.SetOptions{Metadata: md})
	c.del(sessionName, s2, md)
	entries := c.sessions(sessionName, aud, sub)
	for _, k := range []string{s1, s2} {
		if _, ok := findEntry(entries, k); ok {
			c.fatalf("Sessions lists %s, a record of a deleted group: %v", k, entries)
		}
	}
	if _, ok := findEntry(entries, kept); !ok || len(entries) != 1 {
		c.fatalf("Sessions after a group Delete = %v, want only the record of another group", entries)
	}
	if entries := c.sessions(rememberName, aud, sub); len(entries) != 0 {
		c.fatalf("Sessions under the remember cookie name lists %v, the partner of a deleted record", entries)
	}
}

func ruleReplace(c *storeCase) {
	key := newKey()
	c.set(sessionName, key, []byte("first"), store.SetOptions{TTL: shortTTL})
	c.set(sessionName, key, []byte("replaced"), store.SetOptions{TTL: longTTL, Replace: true})
	c.wantValue(sessionName, key, []byte("replaced"), "after Set with Replace")
	c.expire(c.missing(sessionName, key))
	c.wantMissing(sessionName, key, fmt.Sprintf("a record with a TTL of %v, replaced with Replace and TTL 1h (the expiry must be kept)", shortTTL))

	// The group is kept: Delete of the partner still ends the record.
	s, r := newKey(), newKey()
	c.set(sessionName, s, []byte("session"), store.SetOptions{})
	c.set(rememberName, r, []byte("remember"), store.SetOptions{Partner: store.RecordKey{Name: sessionName, Key: s}})
	c.set(rememberName, r, []byte("remember with info"), store.SetOptions{Replace: true})
	c.del(sessionName, s, nil)
	c.wantMissing(rememberName, r, "a record replaced with Replace, after Delete of its partner")
}

func ruleReplaceIndex(c *storeCase) {
	md := metadata(1)
	key := newKey()
	start := c.now()
	c.set(sessionName, key, []byte("v"), store.SetOptions{TTL: longTTL, Metadata: md})
	c.set(sessionName, key, []byte("w"), store.SetOptions{TTL: 3 * longTTL, Replace: true})
	e, ok := findEntry(c.sessions(sessionName, md.Audiences[0], md.Subjects[0]), key)
	if !ok {
		c.fatalf("Sessions does not list a record after Set with Replace")
	}
	if d := e.Expires.Sub(start.Add(longTTL)); d < -expiryTolerance || d > expiryTolerance {
		c.fatalf("index entry expires at %v after Set with Replace, want the original %v", e.Expires, start.Add(longTTL))
	}
}

func ruleReplaceMissing(c *storeCase) {
	c.wantSetNotFound(sessionName, newKey(), store.SetOptions{Replace: true}, "Replace of a key never set")
	deleted := newKey()
	c.set(sessionName, deleted, []byte("v"), store.SetOptions{})
	c.del(sessionName, deleted, nil)
	c.wantSetNotFound(sessionName, deleted, store.SetOptions{Replace: true}, "Replace of a deleted record (a revoked session must not come back)")
	expired := newKey()
	c.set(sessionName, expired, []byte("v"), store.SetOptions{TTL: shortTTL})
	c.expire(c.missing(sessionName, expired))
	c.wantSetNotFound(sessionName, expired, store.SetOptions{Replace: true}, "Replace of an expired record")
}
