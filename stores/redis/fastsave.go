package redisstore

import "context"

// A save that joins no group and no subject index (no OldKey, no Partner,
// no Metadata, no group info, no limit: a new anonymous session) needs none of the save's
// bookkeeping but what write does without a group: store the record, and
// drop its link, so that a key used again leaves the group it was in. On a
// single server it is the script's "new" operation, which does just that
// and does not read the clock: the same one round trip, less Lua.

// plainSave reports whether sv can be saved with saveNew.
func (s *Store) plainSave(sv *save) bool {
	return sv.old == nil && sv.partner == nil && len(sv.index) == 0 && sv.seen == 0 && sv.limit == 0 && !s.waits()
}

// saveNew stores the record of sv, leaving any group its key was in.
func (s *Store) saveNew(ctx context.Context, sv *save) error {
	return s.exec(ctx, "set", newCall([]string{sv.rec.key, sv.rec.link}, "new", sv.value, sv.ttl))
}
