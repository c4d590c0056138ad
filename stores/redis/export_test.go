package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// InfoKey returns the name of the info hash of the group under the group
// key g.
func InfoKey(g string) string { return companion(g, "info") }

// LinkKey exposes linkKey to the tests: the key that names the group of a
// record.
var LinkKey = linkKey

// LoadScript loads the store's scripts into the script cache of the server,
// or of every master of a cluster, so that tests counting round trips do
// not count a first EVALSHA refused with NOSCRIPT.
func LoadScript(ctx context.Context, c redis.UniversalClient) error {
	load := func(ctx context.Context, n redis.Scripter) error {
		for _, sc := range []*redis.Script{storeScript, saveScript, replaceScript} {
			if err := sc.Load(ctx, n).Err(); err != nil {
				return err
			}
		}
		return nil
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return load(ctx, n)
		})
	}
	return load(ctx, c)
}

// WithSavesBeforeRedis7 makes the store save as it does on a server before
// Redis 7, without the options that Redis 6.2 and 7 added (SET with GET,
// GETDEL, PEXPIRE with LT), so that the tests run that path too.
func WithSavesBeforeRedis7() Option { return func(s *Store) { s.legacy = true } }

// LuaRedis7 is the test by which the save script tells Redis 7 and later.
const LuaRedis7 = luaRedis7
