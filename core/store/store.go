package store

import (
	"context"
	"time"
)

// Store keeps the encrypted session data on the server side, while the
// cookie carries only the 110-character header. A Store must be
// safe for concurrent use. The conformance package tests every sentence of
// this contract; run conformance.TestStore on your own implementation.
//
// name is the cookie name the record belongs to (the session or remember
// cookie), key the storage key (base64url of the session id, or of its
// SHA-256 with the session package's Config.HashStorageKey). Stores build
// their own keys from both, typically "[prefix:]name:key[:suffix]" (see
// Key). A store may instead key records by the storage key alone, as
// lua-resty-session's SQL tables do (the session library's keys are
// random, so it never stores one key under two names): such a store
// refuses with an error a Set of a key that another cookie name holds, and
// a Get or Delete under the other name neither reads nor removes it.
type Store interface {
	// Get returns the value stored under name and key. A missing or expired
	// record is an error that matches ErrNotFound. opts.Now is the time the
	// session library runs on; stores that track expiry themselves compare
	// against it.
	Get(ctx context.Context, name, key string, opts GetOptions) ([]byte, error)

	// Set stores value under name and key for opts.TTL.
	//
	// When opts.OldKey is set, the record is a rotation of the record under
	// OldKey (a session's id changes on every save). If no record is
	// readable under OldKey, Set stores nothing and returns an error that
	// matches ErrNotFound: the session was destroyed, revoked or has expired
	// meanwhile, and must not come back. Otherwise the record under OldKey
	// must stay readable for at most opts.StaleTTL (its expiry is only ever
	// shortened; a StaleTTL of zero deletes it at once) so that concurrent
	// requests that still carry the previous cookie keep working.
	//
	// Records form groups, one per browser session: a record set with
	// OldKey joins the group of the OldKey record, a record set with
	// opts.Partner joins the group of the partner record (Partner wins when
	// both are set), and any other record starts a group of its own. If no
	// record is readable under Partner, Set stores nothing and returns an
	// error that matches ErrNotFound. Delete ends whole groups.
	//
	// When opts.Metadata is set and the store keeps a subject index, key is
	// added to the index of each audience and subject pair with its expiry,
	// and expired index entries are pruned.
	//
	// When opts.Replace is set, Set only replaces the value of an existing
	// record, keeping its expiry, its group and its index entries; OldKey,
	// Partner and Metadata are ignored, and TTL serves only a store that
	// cannot read the expiry of a record another library wrote, as that
	// record's expiry. If no record is readable under key, Set stores
	// nothing and returns an error that matches ErrNotFound.
	Set(ctx context.Context, name, key string, value []byte, opts SetOptions) error

	// Delete removes the record under name and key together with every
	// other record of its group (the stale records it replaced, the records
	// that replaced it, and its partner records under the other cookie
	// name), so that no cookie of that browser session opens again; it
	// removes the key from the subject index of opts.Metadata when given.
	// With opts.Metadata, Delete removes every record of the group it ends
	// from the subject index of each audience and subject pair, each under
	// its own record's cookie name, so that no index lists a record that is
	// gone (the remember record's key leaves the remember cookie's index when
	// its session record is deleted). Deleting a missing record is not an
	// error.
	Delete(ctx context.Context, name, key string, opts DeleteOptions) error
}

// GetOptions carries the extra arguments of Store.Get.
type GetOptions struct {
	Now time.Time // the session library's clock
}

// SetOptions carries the extra arguments of Store.Set; new fields may be
// added without changing the Store interface.
type SetOptions struct {
	TTL      time.Duration // how long the record lives, at least one second
	Now      time.Time     // the session library's clock
	OldKey   string        // key of the record this one replaces, if any
	StaleTTL time.Duration // how long the OldKey record may still be read
	Metadata *Metadata     // subject index entries, with the session package's Config.StoreMetadata
	Partner  RecordKey     // a record of the same browser session under another cookie name
	Replace  bool          // update an existing record only, keeping its expiry
	// Anonymous is set when no entry of the session has a subject (a
	// visitor who has not signed in: a CSRF token, an OAuth state). Stores
	// that evict records to stay within a bound evict these first, so that
	// anonymous traffic cannot push signed-in users out.
	Anonymous bool
	// Seen and Facts are Go-only facts about the record's group (its
	// browser session) for stores that implement GroupInfoReader; other
	// stores ignore them. See GroupInfoReader.
	Seen  time.Time // when the browser was last seen: the save's time
	Facts []byte    // client facts the application recorded; nil keeps the group's
	// Limit and LimitRefuse cap the sessions of a subject, for stores that
	// implement SessionLimiter; other stores are never given them. See
	// SessionLimiter.
	Limit       int
	LimitRefuse bool
}

// RecordKey names one store record: the cookie name and the storage key.
// The zero RecordKey names no record.
type RecordKey struct {
	Name, Key string
}

// IsZero reports whether r names no record.
func (r RecordKey) IsZero() bool { return r.Key == "" }

// DeleteOptions carries the extra arguments of Store.Delete.
type DeleteOptions struct {
	Now      time.Time // the session library's clock
	Metadata *Metadata // subject index entries to remove the key from
}

// Metadata names the subject index entries of one session: pairs of an
// audience and a subject, both already encoded (base64url, the subject
// hashed with the session package's Config.HashSubject), so stores use them
// as key parts as is.
//
// The session package also passes, to Delete and SubjectIndex.Sessions, the
// subject as the application gave it, not encoded: the reference library
// indexes its sessions of two or more audiences under that subject. Such a
// subject can hold any byte (':', '/', spaces, more than 255 bytes); a store
// that cannot make a key of it keeps that index under a name of its own,
// as it would for a long encoded subject.
type Metadata struct {
	Audiences []string
	Subjects  []string
}

// IndexEntry is one live session in a subject index.
type IndexEntry struct {
	Key     string    // the storage key of the session
	Expires time.Time // when the record expires
	// Remember is set, in the session package's Manager.Sessions, on the
	// record of a remember cookie; the session cookie's record of the same
	// browser session is listed beside it, and revoking either ends both.
	// Stores leave it unset.
	Remember bool
}

// SubjectIndex is implemented by stores that keep the subject index (the
// session package's Config.StoreMetadata). The session package's
// Manager.Sessions, Manager.RevokeSessions and Manager.RevokeSession use it.
type SubjectIndex interface {
	// Sessions lists the live sessions of an encoded audience and subject,
	// pruning expired entries as it goes.
	Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]IndexEntry, error)
}

// Stopper is implemented by stores that run background work (a cleaner
// goroutine); Stop ends it and waits for it.
type Stopper interface {
	// Stop ends the background work and waits for it to finish.
	Stop()
}
