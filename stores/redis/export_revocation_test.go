package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// LoadRevokeScript loads the script of Revoke into the script cache of the
// server, or of every master of a cluster, so that tests counting round
// trips do not count a first EVALSHA refused with NOSCRIPT.
func LoadRevokeScript(ctx context.Context, c redis.UniversalClient) error {
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return revokeScript.Load(ctx, n).Err()
		})
	}
	return revokeScript.Load(ctx, c).Err()
}
