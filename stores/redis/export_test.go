package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// LinkKey exposes linkKey to the tests: the key that names the group of a
// record.
var LinkKey = linkKey

// LoadScript loads the store's script into the script cache of the server,
// or of every master of a cluster, so that tests counting round trips do
// not count a first EVALSHA refused with NOSCRIPT.
func LoadScript(ctx context.Context, c redis.UniversalClient) error {
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return storeScript.Load(ctx, n).Err()
		})
	}
	return storeScript.Load(ctx, c).Err()
}
