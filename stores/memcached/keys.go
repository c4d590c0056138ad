package memcachedstore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// maxKeyLen is the longest key memcached accepts.
const maxKeyLen = 250

// Names. Records and subject index lists are the reference's items: their
// names are the reference's, escaped as its client escapes them (escape.go),
// so they hold no raw ':'. The store's own items (group pointers, group
// member lists, revocation marks, and the index lists of subjects too long
// for the reference's names) are named raw, with ':' between the parts:
// no item the reference reads or writes can have such a name. Their
// names also carry '@' (or, for marks, two more parts than a record), which
// is neither in base64url (storage keys, audiences, subjects) nor in an RFC
// 6265 token (cookie names), so they cannot collide with each other either.
const (
	groupSuffix  = "@group" // after a record's key: its group pointer
	groupsPart   = "@group" // in place of a cookie name: a group's member list
	hashedPrefix = "@"      // before the hash of a subject too long for a key
)

// Key returns the memcached key that holds the record of the session cookie
// name and storage key: "[prefix:]name:key[:suffix]" escaped as
// lua-resty-memcached escapes keys (ngx.escape_uri), so that the reference
// reads and writes the same item: "app%3Asession%3AKEY".
func (s *Store) Key(name, key string) string {
	return escapeKey(store.Key(s.prefix, s.suffix, name, key))
}

// IndexKey returns the memcached key of the subject index list of an encoded
// audience and subject: "[prefix:]name:audience:subject[:suffix]", escaped
// as Key escapes it, the reference's name for it. When that key would be
// longer than memcached's 250 bytes (subjects of more than about 170
// bytes), which the reference cannot write at all, the list is one of the
// store's own items, named raw: the subject part is "@" followed by the
// base64url SHA-256 of the subject, unpadded,
// "[prefix:]name:audience:@HASH[:suffix]".
func (s *Store) IndexKey(name, audience, subject string) string {
	k := escapeKey(store.Key(s.prefix, s.suffix, name, audience, subject))
	if len(k) <= maxKeyLen {
		return k
	}
	sum := sha256.Sum256([]byte(subject))
	return store.Key(s.prefix, s.suffix, name, audience, hashedPrefix+base64.RawURLEncoding.EncodeToString(sum[:]))
}

// pointerKey returns the key of the group pointer of a record, named raw:
// "[prefix:]name:key:@group[:suffix]". Every record the store writes has
// one (records the reference wrote have none): its value is the record's
// group id, or empty when the record is a group of its own, and its flags
// hold the record's expiry in unix seconds, which memcached does not report
// and the record's own flags, 0 as the reference writes them, do not hold.
func (s *Store) pointerKey(name, key string) string {
	return store.Key(s.prefix, s.suffix, name, key, groupSuffix)
}

// groupKey returns the key of the member list of group id:
// "[prefix:]@group:id[:suffix]".
func (s *Store) groupKey(id string) string {
	return store.Key(s.prefix, s.suffix, groupsPart, id)
}

// newGroupID returns a fresh group id: 16 random bytes, base64url.
func newGroupID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// member names a record in a group's member list: "name/key". Neither a
// cookie name nor a storage key contains '/' (validPart).
func member(name, key string) string { return name + "/" + key }

// splitMember is the inverse of member.
func splitMember(m string) (name, key string, ok bool) {
	name, key, ok = strings.Cut(m, "/")
	return name, key, ok && validPart(name) && validPart(key)
}

// validPart reports whether a cookie name, storage key or group id can be
// part of the store's keys and lists: not empty, without the separators
// ':' ';' '/' and '@', and without what memcached refuses in keys.
func validPart(p string) bool {
	return p != "" && !strings.ContainsAny(p, ":;/@") && legalKey(p)
}

// legalKey reports whether memcached accepts k as a key: at most 250 bytes,
// without spaces or control characters. An escaped key has neither, so for
// it only the length counts.
func legalKey(k string) bool {
	if len(k) == 0 || len(k) > maxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] == 0x7f {
			return false
		}
	}
	return true
}

// checkAffixes checks the prefix and the suffix: memcached must accept
// them in a key as they are (the store's own items are named raw), and they
// must leave room for the keys of a record (its escaped name, and its group
// pointer) under a one-character cookie name and a storage key of 43
// characters, the base64url of 32 bytes.
func (s *Store) checkAffixes() error {
	for _, a := range [...]struct{ what, v string }{{"WithPrefix", s.prefix}, {"WithSuffix", s.suffix}} {
		if a.v != "" && !legalKey(a.v) {
			return fmt.Errorf("memcachedstore: %s(%q): a space or control character, or longer than %d bytes, which memcached refuses in keys: %w",
				a.what, a.v, maxKeyLen, session.ErrInvalidConfig)
		}
	}
	k := strings.Repeat("A", 43)
	if !legalKey(s.pointerKey("x", k)) || !legalKey(s.Key("x", k)) {
		return fmt.Errorf("memcachedstore: prefix and suffix of %d bytes leave no room for a session's keys in memcached's %d: %w",
			len(s.prefix)+len(s.suffix), maxKeyLen, session.ErrInvalidConfig)
	}
	return nil
}

// recordRef is a record the store may touch: its cookie name and storage
// key, and the memcached keys of the record (escaped) and of its group
// pointer (raw).
type recordRef struct {
	name, key string
	rec, ptr  string
}

// ref checks name and key and returns the record's keys. Every key a call
// writes is checked before the first write, so that no call stops half way
// on a key memcached refuses.
func (s *Store) ref(what, name, key string) (recordRef, error) {
	if !validPart(name) {
		return recordRef{}, fmt.Errorf("invalid cookie name %q for the %s: %w", name, what, session.ErrStore)
	}
	if !validPart(key) {
		return recordRef{}, fmt.Errorf("invalid storage key %q for the %s: %w", key, what, session.ErrStore)
	}
	r := recordRef{name: name, key: key, rec: s.Key(name, key), ptr: s.pointerKey(name, key)}
	if !legalKey(r.ptr) || !legalKey(r.rec) {
		return recordRef{}, fmt.Errorf("key %q of the %s is too long for memcached (prefix and suffix too long?): %w", r.ptr, what, session.ErrStore)
	}
	return r, nil
}

// indexKeys returns the subject index list keys of md under name, checked.
func (s *Store) indexKeys(name string, md *store.Metadata) ([]string, error) {
	if md == nil {
		return nil, nil
	}
	if len(md.Audiences) != len(md.Subjects) {
		return nil, fmt.Errorf("metadata has %d audiences and %d subjects: %w", len(md.Audiences), len(md.Subjects), session.ErrStore)
	}
	keys := make([]string, len(md.Audiences))
	for i := range md.Audiences {
		keys[i] = s.IndexKey(name, md.Audiences[i], md.Subjects[i])
		if !legalKey(keys[i]) {
			return nil, fmt.Errorf("subject index key %q is too long for memcached even with the subject hashed (audience, prefix or suffix too long?): %w", keys[i], session.ErrStore)
		}
	}
	return keys, nil
}
