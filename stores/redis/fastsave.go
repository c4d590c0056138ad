package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// A save that joins no group and no subject index (no OldKey, no Partner,
// no Metadata: a new anonymous session) needs none of the script's
// bookkeeping but what write does: store the record, and drop its link, so
// that a key used again leaves the group it was in. On a single server it is
// a transaction of plain commands, one round trip like the script call but
// without running Lua, which on Redis costs more than the commands
// themselves. The group a reused key leaves is told in a second call; core
// never reuses a key (each save draws a new session id), so that call is
// for other callers of the Store only.

// plainSave reports whether sv can be saved with saveNew.
func (s *Store) plainSave(sv *save) bool {
	return sv.old == nil && sv.partner == nil && len(sv.index) == 0 && !s.waits()
}

// saveNew stores the record of sv with SET and removes its link, in MULTI
// and EXEC.
func (s *Store) saveNew(ctx context.Context, sv *save) error {
	var set *redis.StatusCmd
	var link *redis.StringCmd
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		set = p.Set(ctx, sv.rec.key, sv.value, time.Duration(sv.ttl)*time.Millisecond)
		link = p.Get(ctx, sv.rec.link)
		p.Del(ctx, sv.rec.link)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return storeError("set", err)
	}
	if err := set.Err(); err != nil {
		return storeError("set", err)
	}
	if g, err := link.Result(); err == nil && g != "" {
		return s.exec(ctx, "set", newCall([]string{g}, "join", "0", sv.rec.key, 0, "leave"))
	}
	return nil
}
