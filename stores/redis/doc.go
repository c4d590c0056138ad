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
// # Groups: revocation that holds
//
// The records of one browser session form a group: a save with an old key
// joins the old record's group, the remember cookie's record joins its
// session record's group (SetOptions.Partner), and Delete of any record
// deletes the whole group, stale records included, so that no cookie of
// that browser session opens again. A save from a record that is gone
// (destroyed, revoked, expired) stores nothing and fails with
// session.ErrNotFound. Groups live in keys of their own beside the records,
// whose names and values stay the reference's: see the README for the key
// layout. A record the reference wrote is a group of its own until a Go
// save joins it.
//
// # Round trips and atomicity
//
// A save checks that the record it replaces (and its partner) exists,
// writes the new record into their group, shortens the life of the
// replaced record to the stale TTL (only ever shortening it) and updates
// the subject index (add the new key, drop the old one, prune expired
// entries, extend the index's own expiry). On a single server or a Sentinel
// master all of this is one Lua script (EVALSHA): atomic, so a revoke
// racing with a save never leaves a live record, and one round trip. A
// Delete of a group is one script too. The scripts need Redis 4.0 or later
// (UNLINK, variadic HSET); on Redis 7 a save makes fewer calls (PEXPIRE
// with LT, SET with GET). The save of a new anonymous session, which joins
// no group, runs no script: a SET of the record and a GET of its link, in
// one pipeline.
//
// In a Redis Cluster the keys of one save live in different hash slots,
// which no script or MULTI may span, and the key names must stay those of
// the reference (no hash tags). The store then runs the script once per
// slot, in rounds, each one pipeline that go-redis splits by node and sends
// to the nodes in parallel. A save of a new session takes one round; a save
// that joins a group takes three (check the records it depends on, write
// the record, then join the group and update the index) and a Delete of a
// group four (find the group, mark it as ended and read its members, delete
// the other members, then the record itself). The rounds are ordered so
// that a Delete racing with a save never leaves a live record: a save
// either joins the group before the Delete reads it, and is deleted with
// it, or fails. What is not atomic: until a Delete's last round the group's
// other records can still be read (no longer saved); a Delete cut short by a
// failing node returns the error and can be done again, as its record goes
// last; a node failing mid-save can leave an index entry without its record
// (Sessions leaves it out) or a record without its index entry (it works
// but is missing from Sessions until its next save). A *redis.Ring is
// handled like a cluster.
//
// # Failures and deadlines
//
// Errors of the server or the connection match session.ErrStore; Get of a
// missing record returns an error matching session.ErrNotFound (and
// redis.Nil), and so does a save from a missing record. A cancelled context
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
