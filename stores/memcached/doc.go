// Package memcachedstore is a sessiongo Store on memcached, through
// github.com/bradfitz/gomemcache: one server or many (keys are spread over
// them by gomemcache's server selector).
//
//	import memcachedstore "github.com/sessiongo/session/stores/memcached"
//
// It keeps its records and subject index as lua-resty-session's memcached
// storage keeps them, so Go and OpenResty (or Kong) services can share one
// memcached and each other's sessions: records live under
// "[prefix:]name:key[:suffix]", escaped as the reference's client
// (lua-resty-memcached) escapes every key, "app%3Asession%3AKEY", with flags
// 0 and the record's TTL; with Config.StoreMetadata, every (audience,
// subject) pair has a list under "[prefix:]name:audience:subject[:suffix]",
// escaped likewise, of entries "key:exp;" (exp is the expiry in unix
// seconds, five bytes little endian, base64url) and tombstones "key;" that
// remove an earlier entry of the same key, created without an expiry. When
// that list key would be longer than memcached's 250 bytes (subjects of more
// than about 170 bytes), the subject part is "@" and the base64url SHA-256 of
// the encoded subject, in a name of the store's own (see Store.IndexKey).
// Every key a call writes is checked before its first write, so that no call
// stops half way on a key memcached refuses. The README's "Sharing with
// OpenResty/Kong" says what is shared and what is not.
//
// # Groups
//
// The records of one browser session (each save's rotation of the session
// record, and the remember record beside it) form a group, and Delete ends
// the whole group, so that a revoked or destroyed session has no cookie left
// that opens, not even one replaced a moment before (still readable for the
// stale TTL) or the remember cookie. Every record the store writes has a
// group pointer, "[prefix:]name:key:@group[:suffix]", holding the group id
// (empty while the record is a group of its own) and, in its flags, the
// record's expiry; a group has a member list, "[prefix:]@group:id[:suffix]",
// in the format of the subject index with "name/key" for the key. Both
// expire with the records they serve, and their names, unescaped, hold a
// ':', which no name the reference sends does: the reference never reads or
// writes them. A record the reference wrote has no pointer: it is a group of
// its own until a save joins it.
//
// memcached has no transactions, so the store orders its operations so
// that every race ends with the group deleted: a save writes its record
// (with its pointer and index entries), then joins the group with a
// compare-and-swap of the member list; Delete deletes the members the list
// names, then removes the list with a compare-and-swap (an item that
// expires at once), which fails, and is done again, if a record joined
// meanwhile. A join after that fails, and the save takes its record back
// and reports session.ErrNotFound; a join before it is deleted with the
// rest. A group keeps at most 64 records; a session saved more often within
// its stale TTL has its stale records deleted early. See the README for the
// windows that remain.
//
// # The subject index
//
// memcached has no sets, so the list is only ever extended with memcached's
// append (and add, when it does not exist), which the server applies
// atomically: two concurrent saves never lose each other's entry. After each
// write the store compacts the list: it reads it with gets, drops the
// expired entries and the tombstoned ones, and writes the rest back with
// cas, which fails if anyone appended in between (the store then reads and
// tries again, a few times); a list left empty is deleted the same way (a
// cas that expires it at once). Lists never expire on their own, as the
// reference creates them: the reference appends to a list without changing
// its expiry, so an expiry could end a list before a session the reference
// listed in it. A save that appends to a list also takes off any expiry the
// reference's cleanup gave it.
//
// # Expiry
//
// memcached reads an expiration above 30 days as a unix time, so longer TTLs
// (remember-me sessions) are sent as the server's wall-clock time plus the
// TTL. memcached cannot report an item's remaining TTL through gomemcache,
// and a record's flags stay 0 as the reference writes them, so the store
// keeps each record's expiry in its group pointer's flags: the stale TTL of
// a replaced record only ever shortens its life (a record that expires
// sooner is left alone), and a Set with Replace keeps the expiry. A record
// without a pointer (written by the reference) is shortened
// unconditionally, as the reference does, and replaced with opts.TTL.
//
// # Failures and deadlines
//
// Errors of the server or the connection match session.ErrStore; a missing
// record matches session.ErrNotFound (and memcache.ErrCacheMiss), as does a
// Set whose old, partner or replaced record is missing or whose group ended.
// gomemcache takes no context: the client's Timeout (500 ms by default)
// bounds each network operation. When the context can end, the store runs
// the operation on its own goroutine and returns the context's error as
// soon as it ends; the abandoned operation still finishes (or times out) in
// the background. Saves take several round trips, as gomemcache does not
// pipeline; the README counts them.
package memcachedstore
