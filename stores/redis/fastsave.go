package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// A save that joins no group and no subject index (no OldKey, no Partner,
// no Metadata, no group info, no limit: a new anonymous session) needs
// none of the save's bookkeeping but what the script does without a group:
// store the record, and take it out of any group its key was in. On a single
// server it runs no script: one pipeline of a SET of the record and a GET of
// its link, the same round trip as a script, and about the work of a plain
// SET on the server. The session library's keys are random, so the link is
// missing; when it is not (a key set anew by another caller), a second
// round trip takes the record out of that group ("unlink"). Until then a
// Delete of that group could also end the new record: a key set anew while
// its former group is deleted, which the session library never does.

// plainSave reports whether sv can be saved with saveNew.
func (s *Store) plainSave(sv *save) bool {
	return sv.old == nil && sv.partner == nil && len(sv.index) == 0 && sv.seen == 0 && sv.limit == 0
}

// saveNew stores the record of sv, leaving any group its key was in.
func (s *Store) saveNew(ctx context.Context, sv *save) error {
	var set *redis.StatusCmd
	var link *redis.StringCmd
	var acked *redis.IntCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		set = p.Set(ctx, sv.rec.key, sv.value, time.Duration(sv.ttl)*time.Millisecond)
		link = p.Get(ctx, sv.rec.link)
		if s.waits() {
			acked = s.queueWait(ctx, p)
		}
		return nil
	})
	if err := set.Err(); err != nil {
		return storeError("set", err)
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return storeError("set", err)
	}
	if err := s.waited("set", acked); err != nil {
		return err
	}
	if g := link.Val(); g != "" {
		return s.exec(ctx, "set", newCall([]string{sv.rec.key, sv.rec.link}, "unlink", g))
	}
	return nil
}
