package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	session "github.com/sessiongo/session/core"
)

// In a Redis Cluster (or a Ring) the keys of one save or delete live in
// different hash slots, which no script may span, and the record and index
// keys must keep the reference's names. The store runs storeScript once per
// slot instead, in rounds ordered so that a Delete racing with a save never
// leaves a live record:
//
//   - a record and its link are written before anything can lead to the
//     record (its group, the subject index), so whoever finds it finds its
//     group;
//   - a save joins its group only if no Delete ended the group since the
//     save found it, and fails otherwise (its record is removed, and its key
//     was never given out);
//   - a Delete marks the group as ended before it reads the members, then
//     deletes them, and the record it was given last, so that a Delete cut
//     short can be done again.

// saveSlots is a save in a cluster. A record of a group of its own takes
// one round (record and index entries, in parallel); one that joins a group
// takes three: check the records it depends on, write it, then join the
// group and update the index.
func (s *Store) saveSlots(ctx context.Context, sv *save) error {
	if sv.old == nil && sv.partner == nil {
		var w *call
		var calls []*call
		if sv.seen != 0 {
			// A group of its own, to hold its info: the record, its link,
			// the group and its info share the record's slot, and the
			// node runs the calls in order.
			g := newGroupKey(sv.rec.key)
			w = sv.write(g)
			calls = []*call{w, sv.join(g, "1", sv.rec.key, sv.ttl, "add")}
		} else {
			w = sv.write("")
			calls = []*call{w}
		}
		if err := s.exec(ctx, "set", append(calls, sv.indexCalls("add")...)...); err != nil {
			return err
		}
		return s.leave(ctx, sv, w)
	}
	start := time.Now()

	// Round 1: the records this one depends on exist, and the group it joins
	// exists (founding it changes no record).
	var oc, pc *call
	var calls []*call
	if sv.old != nil {
		oc = sv.check(*sv.old, sv.partner == nil)
		calls = append(calls, oc)
	}
	if sv.partner != nil {
		pc = sv.check(*sv.partner, true)
		calls = append(calls, pc)
	}
	if err := s.exec(ctx, "set", calls...); err != nil {
		return err
	}
	var og, g string
	if oc != nil {
		var ok bool
		if og, ok = checked(oc); !ok {
			return errNoOld
		}
		g = og
	}
	if pc != nil {
		pg, ok := checked(pc)
		if !ok {
			return errNoPartner
		}
		g = pg
	}

	// Round 2: the record and its link.
	w := sv.write(g)
	if err := s.exec(ctx, "set", w); err != nil {
		s.undo(ctx, sv)
		return err
	}

	// Round 3: join the group (and write its info), make the old record
	// stale, update the index.
	join := sv.join(g, "1", sv.rec.key, sv.ttl, "add")
	calls = []*call{join}
	if sv.old != nil && sv.old.key != sv.rec.key {
		if og == g {
			join.args = append(join.args, sv.old.key, sv.stale, "cap")
		} else if og != "" {
			calls = append(calls, joinCall(og, "0", sv.old.key, sv.stale, "cap"))
		}
		calls = append(calls, newCall([]string{sv.old.key, sv.old.link}, "stale", sv.stale))
	}
	calls = append(calls, sv.indexCalls("add")...)
	err := s.exec(ctx, "set", calls...)
	if n, _ := join.cmd.Int64(); err == nil && n == 0 {
		err = fmt.Errorf("redisstore: set: the session was deleted meanwhile: %w", session.ErrNotFound)
	}
	if err == nil && time.Since(start) >= endedTTL/2 {
		// A Delete marks a group as ended for endedTTL only: past it, the
		// join above could not tell a group that ended during this save.
		err = fmt.Errorf("redisstore: set: the save took %v, over %v: %w", time.Since(start), endedTTL/2, session.ErrStore)
	}
	if err != nil {
		s.undo(ctx, sv)
		return err
	}
	return s.leave(ctx, sv, w)
}

// check is the call that checks that the record r exists and returns its
// group, founding one when found is set and r has none.
func (sv *save) check(r record, found bool) *call {
	f := "0"
	if found {
		f = "1"
	}
	return newCall([]string{r.key, r.link, newGroupKey(r.key)}, "check", f)
}

// checked returns the reply of a check: the record's group ("" when none),
// and whether the record exists.
func checked(c *call) (group string, ok bool) {
	v, _ := c.cmd.Slice()
	if len(v) < 2 {
		return "", false
	}
	group, _ = v[1].(string)
	return group, true
}

// join is the call that runs the (member, ms, how) triples of members on
// group g, and writes the save's group info there; with must "1" it fails
// when the group has ended.
func (sv *save) join(g, must string, members ...any) *call {
	seen, hasFacts := "", "0"
	if sv.seen != 0 {
		seen = strconv.FormatInt(sv.seen, 10)
		if sv.facts != nil {
			hasFacts = "1"
		}
	}
	args := append([]any{"join", must, seen, hasFacts, sv.facts}, members...)
	return newCall([]string{g, companion(g, "info")}, args...)
}

// joinCall is a join call on group g that writes no group info.
func joinCall(g, must string, members ...any) *call {
	args := append([]any{"join", must, "", "0", ""}, members...)
	return newCall([]string{g, companion(g, "info")}, args...)
}

// write is the call that writes the record and its link to group g ("":
// none).
func (sv *save) write(g string) *call {
	return newCall([]string{sv.rec.key, sv.rec.link}, "write", sv.value, sv.ttl, g)
}

// indexCalls are the calls that add the key to (op "add") or remove it from
// (op "remove") each index of the save.
func (sv *save) indexCalls(op string) []*call {
	calls := make([]*call, len(sv.index))
	for i, k := range sv.index {
		calls[i] = newCall([]string{k}, "index", op, sv.key, sv.oldKey, sv.now, sv.expires, sv.ttl)
	}
	return calls
}

// leave takes the record out of the group it was in before the write w put
// it in another one or in one of its own (a key set anew: rare).
func (s *Store) leave(ctx context.Context, sv *save, w *call) error {
	prev, _ := w.cmd.Text()
	if prev == "" {
		return nil
	}
	return s.exec(ctx, "set", joinCall(prev, "0", sv.rec.key, 0, "leave"))
}

// undo removes the record of a failed save and its index entries. The
// record's key was never given out, so this is housekeeping: it runs even
// when ctx is done, and its own failure is not reported.
func (s *Store) undo(ctx context.Context, sv *save) {
	ctx = context.WithoutCancel(ctx)
	calls := []*call{newCall([]string{sv.rec.key, sv.rec.link}, "drop", "all")}
	_ = s.exec(ctx, "set", append(calls, sv.indexCalls("remove")...)...)
}

// deleteSlots is a delete in a cluster, in up to four rounds: the record
// if it is in no group, else its group (and, either way, its index
// entries); the group marked as ended (saves into it fail from then on) and
// its members read; the other members deleted; then the record itself, last,
// so that a Delete cut short (a node failing) can be done again, and the
// group shrunk to its mark.
func (s *Store) deleteSlots(ctx context.Context, rec record, key string, index, pairs []string, now int64) error {
	first := newCall([]string{rec.key, rec.link}, "drop", "lone")
	calls := []*call{first}
	for _, k := range index {
		calls = append(calls, newCall([]string{k}, "index", "remove", key, "", now, 0, 0))
	}
	if err := s.exec(ctx, "delete", calls...); err != nil {
		return err
	}
	g, _ := first.cmd.Text()
	if g == "" {
		return nil
	}
	end := newCall([]string{g, companion(g, "info")}, "end")
	if err := s.exec(ctx, "delete", end); err != nil {
		return err
	}
	members, _ := end.cmd.StringSlice()
	drops := make([]*call, 0, len(members))
	for _, m := range members {
		if m == rec.key {
			continue
		}
		drops = append(drops, newCall([]string{m, linkKey(m)}, "drop", "all"))
		// It leaves the indexes of the same audiences and subjects
		// under its own cookie name.
		if name, mkey, ok := s.recordParts(m); ok {
			for _, k := range s.indexKeys(name, pairs) {
				drops = append(drops, newCall([]string{k}, "index", "remove", mkey, "", now, 0, 0))
			}
		}
	}
	if err := s.exec(ctx, "delete", drops...); err != nil {
		return err
	}
	return s.exec(ctx, "delete", newCall([]string{rec.key, rec.link}, "drop", "all"), newCall([]string{g}, "ended"))
}
