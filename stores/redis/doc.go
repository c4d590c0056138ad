// Package redisstore is a sessiongo Store on Redis: a single server, a
// Sentinel-managed master (redis.NewFailoverClient) or a Redis Cluster, all
// through go-redis's redis.UniversalClient.
//
//	import redisstore "github.com/sessiongo/session/stores/redis"
//
// It keeps the key names and the subject index of lua-resty-session's redis,
// redis-cluster and redis-sentinel storages, so Go and OpenResty services
// can share one Redis: records live under "[prefix:]name:key[:suffix]" with
// the record's TTL, and, with Config.StoreMetadata, every (audience,
// subject) pair has a sorted set "[prefix:]name:audience:subject[:suffix]"
// of session keys scored by their expiry (unix seconds).
//
// # One round trip per save
//
// A save writes the new record, shortens the life of the record it replaces
// to the stale TTL (only ever shortening it: a record that would expire
// sooner keeps its expiry) and updates the subject index (add the new key,
// drop the old one, prune expired entries, extend the index's own expiry).
// On a single server or a Sentinel master all of this is one Lua script
// (EVALSHA), so it is atomic and takes one round trip; the script only uses
// commands of Redis 2.6.12 (no EXPIRE LT), and deletes without a subject
// index use UNLINK (Redis 4), as the reference does.
//
// In a Redis Cluster the keys of one save live in different hash slots,
// which no script or MULTI may span, and the key names must stay those of
// the reference (no hash tags). The store then runs the same script once per
// key, all in one pipeline, which go-redis splits by node and sends to the
// nodes in parallel: still one round trip of latency, and each key's update
// is atomic, but the save as a whole is not. If a node fails mid-save the
// new record may be written while an index update is lost (the session then
// works but is missing from Sessions until its next save), or the reverse
// (an index entry whose record is missing: Manager.RevokeSessions deletes
// it harmlessly). A *redis.Ring is handled like a cluster.
//
// # Failures and deadlines
//
// Errors of the server or the connection match session.ErrStore; a missing
// record matches session.ErrNotFound (and redis.Nil). A cancelled context
// fails a call before it starts. go-redis only bounds a call by the
// context's deadline when the client is made with
// Options.ContextTimeoutEnabled set; otherwise its ReadTimeout and
// WriteTimeout (3 s by default) bound each call. Set it so that a hung
// server cannot hold a request past its deadline.
//
// WithWaitReplicas makes each save wait (in the same round trip, with
// Redis's WAIT) until replicas have acknowledged it, so that a session
// saved just before a Sentinel failover survives it.
package redisstore
