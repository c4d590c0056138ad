// Package memcachedstore is a sessiongo Store on memcached, through
// github.com/bradfitz/gomemcache: one server or many (keys are spread over
// them by gomemcache's server selector).
//
//	import memcachedstore "github.com/sessiongo/session/stores/memcached"
//
// It keeps the key names and the subject index of lua-resty-session's
// memcached storage, so Go and OpenResty services can share one memcached:
// records live under "[prefix:]name:key[:suffix]" with the record's TTL, and,
// with Config.StoreMetadata, every (audience, subject) pair has a list under
// "[prefix:]name:audience:subject[:suffix]" of entries "key:exp;" (exp is the
// expiry in unix seconds, five bytes little endian, base64url) and
// tombstones "key;" that remove an earlier entry of the same key.
//
// # The subject index
//
// memcached has no sets, so the list is only ever extended with memcached's
// append (and add, when it does not exist), which the server applies
// atomically: two concurrent saves never lose each other's entry. After each
// write the store compacts the list: it reads it with gets, drops the
// expired entries and the tombstoned ones, and writes the rest back with
// cas, which fails if anyone appended in between (the store then reads and
// tries again, a few times). Compaction also sets the list's expiry to that
// of its longest-lived entry, so a list never expires before a session it
// lists. An emptied list is kept, empty, for a second rather than deleted,
// since memcached's delete cannot be made conditional.
//
// # Expiry
//
// memcached reads an expiration above 30 days as a unix time, so longer TTLs
// (remember-me sessions) are sent as the server's wall-clock time plus the
// TTL. The stale TTL of a replaced record must only ever shorten its life,
// and memcached cannot report an item's remaining TTL through gomemcache, so
// the store writes each record's expiry into the item's flags and reads the
// old record before touching it: a record that expires sooner than the stale
// TTL is left alone. A record without that expiry (written by another
// client, such as the reference library, whose flags are 0) is touched
// unconditionally, as the reference does.
//
// # Failures and deadlines
//
// Errors of the server or the connection match session.ErrStore; a missing
// record matches session.ErrNotFound (and memcache.ErrCacheMiss).
// gomemcache takes no context: the client's Timeout (500 ms by default)
// bounds each network operation. When the context can end, the store runs
// the operation on its own goroutine and returns the context's error as
// soon as it ends; the abandoned operation still finishes (or times out) in
// the background. Saves take several round trips (gomemcache does not
// pipeline): one to write the record, two more to shorten the old record's
// expiry, and three per subject index list (append, gets, cas).
package memcachedstore
