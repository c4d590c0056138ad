package conformance

import (
	"github.com/sessiongo/session/core/store"
)

// cGroupIndexDelete is the sentence of the contract (core/store/store.go)
// that the group_index_members rule tests.
const cGroupIndexDelete = "With opts.Metadata, Delete removes every record of the group it ends from the subject index of each audience and subject pair, each under its own record's cookie name, so that no index lists a record that is gone (the remember record's key leaves the remember cookie's index when its session record is deleted)."

func init() {
	storeRules = append(storeRules,
		&storeRule{name: "group_index_members", contract: cGroupIndexDelete, index: true, run: ruleGroupIndexMembers},
	)
}

// ruleGroupIndexMembers deletes two browser sessions, one by its session
// record and one by its remember record, and checks that no record of
// theirs stays in an index. A store whose Sessions leaves out entries
// whose record is gone would hide a stale entry, which the reference
// library's read of the same index would list: so the rule writes the
// deleted keys again without Metadata (as another library sharing the
// server could) before it reads the indexes.
func ruleGroupIndexMembers(c *storeCase) {
	md := metadata(2)
	type browser struct {
		session, stale, fork, remember string
	}
	login := func() browser {
		b := browser{session: newKey(), stale: newKey(), fork: newKey(), remember: newKey()}
		// A login with remember, then two saves that both replaced the
		// first record (a request and a concurrent one with the same
		// cookie): the first record stays readable for its stale TTL.
		c.set(sessionName, b.stale, []byte("session"), store.SetOptions{Metadata: md})
		c.set(rememberName, b.remember, []byte("remember"), store.SetOptions{Metadata: md, Partner: store.RecordKey{Name: sessionName, Key: b.stale}})
		c.set(sessionName, b.session, []byte("saved"), store.SetOptions{Metadata: md, OldKey: b.stale, StaleTTL: longTTL})
		c.set(sessionName, b.fork, []byte("saved too"), store.SetOptions{Metadata: md, OldKey: b.stale, StaleTTL: longTTL})
		return b
	}
	bySession, byRemember, kept := login(), login(), login()
	c.del(sessionName, bySession.session, md)
	c.del(rememberName, byRemember.remember, md)

	// Written again before any read: a store may prune the entries of
	// records that are gone when it reads an index.
	for _, b := range []browser{bySession, byRemember} {
		for _, k := range []string{b.session, b.stale, b.fork} {
			c.set(sessionName, k, []byte("written again, without Metadata"), store.SetOptions{})
		}
		c.set(rememberName, b.remember, []byte("written again, without Metadata"), store.SetOptions{})
	}
	const why = "after Delete of a session record and of another group's remember record, and the deleted keys written again without Metadata (an index entry Delete left would list them)"
	for i := range md.Audiences {
		for _, name := range []string{sessionName, rememberName} {
			entries := c.sessions(name, md.Audiences[i], md.Subjects[i])
			for _, b := range []browser{bySession, byRemember} {
				for _, k := range []string{b.session, b.stale, b.fork, b.remember} {
					if _, ok := findEntry(entries, k); ok {
						c.fatalf("%s: Sessions(%q) of pair %d lists %s, a record of a group that Delete ended: %v", why, name, i, k, entries)
					}
				}
			}
			want := []string{kept.session, kept.fork}
			if name == rememberName {
				want = []string{kept.remember}
			}
			for _, k := range want {
				if _, ok := findEntry(entries, k); !ok {
					c.fatalf("%s: Sessions(%q) of pair %d = %v, lost %s, a record of another browser session", why, name, i, entries, k)
				}
			}
		}
	}
}
