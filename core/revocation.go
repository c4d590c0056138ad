package session

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/sessiongo/session/core/store"
)

// Revocation of cookie sessions (Config.Revocation). A cookie cannot be
// taken back from a browser, or from whoever copied it, so revoking one
// means remembering, on the server, that it no longer counts: a mark in the
// revocation backend, read by every Open. Marks are keyed by hashes
// (store.Mark):
//
//   - "sid:" + base64url(SHA-256(session id)): one cookie, written by
//     Destroy (and Logout of the only audience) for the session cookie and
//     the remember cookie, kept as long as that cookie could still open;
//   - "sub:" + base64url(SHA-256(uvarint(len(audience)) || audience ||
//     subject)): every session of a subject in an audience created at or
//     before the mark, written by Manager.RevokeSessions;
//   - "key:" + base64url(SHA-256(key)): every session that carries the
//     application's revocation key (Session.SetRevocationKeys) and was
//     created at or before the mark, written by Manager.Revoke.
//
// Open asks for the marks of its cookie's id, of its entry's subject and of
// its entry's keys in one call, after the cookie has been authenticated and
// decrypted (a forged cookie costs no lookup).

// FailMode says what a Manager does when its revocation backend fails
// (Config.RevocationFailMode). The zero value means
// DefaultRevocationFailMode.
type FailMode string

// The revocation fail modes (the reference's revocation_fail_mode).
const (
	// FailClosed makes Open fail with an error matching ErrStore when the
	// revocation backend cannot be asked, and Destroy return one (after
	// expiring the cookies) when the mark cannot be written: a revoked
	// session never opens, at the price of refusing sessions while the
	// backend is down. It is the default, unlike the reference's: a logout
	// or an identity provider's revocation must not be undone by an outage,
	// which an attacker may be able to cause. The failure is loud (ErrStore,
	// which the middleware answers with a 500) and leaves the browser's
	// cookies alone, so sessions resume when the backend is back.
	FailClosed FailMode = "closed"
	// FailOpen treats a session as not revoked when the backend cannot be
	// asked, and lets Destroy succeed when the mark cannot be written,
	// logging a warning each time: sessions keep working while the backend
	// is down, and a revoked cookie works again meanwhile.
	FailOpen FailMode = "open"
)

// Defaults of the revocation settings, which the reference does not have:
// its revocation_fail_mode defaults to "open" (see FailClosed for why this
// library's does not), and it has no cache of lookups.
const (
	DefaultRevocationFailMode  = FailClosed
	DefaultRevocationCacheSize = 10_000
)

// Kinds of revocation keys.
const (
	kindSID uint8 = iota + 1
	kindSub
	kindKey
)

// markMargin is added to the TTL of every mark: a cookie still opens during
// the second its timeout ends (timeouts count whole seconds), and some
// stores end a record up to a second before its TTL.
const markMargin = 2 * time.Second

// revocation is a Manager's revocation backend, fail mode and cache.
type revocation struct {
	backend  store.Revoker // nil: revocation is off
	failOpen bool
	cache    *revocationCache // nil: nothing is cached
}

// setRevocation validates the revocation settings of cfg.
func (m *Manager) setRevocation(cfg *Config) error {
	switch cfg.RevocationFailMode {
	case "", FailClosed:
	case FailOpen:
		m.rev.failOpen = true
	default:
		return configError("unknown revocation_fail_mode %q (want open or closed)", cfg.RevocationFailMode)
	}
	if cfg.RevocationCacheSize < 0 {
		return configError("negative revocation_cache_size %d", cfg.RevocationCacheSize)
	}
	if cfg.Revocation == nil {
		return nil
	}
	if cfg.Store != nil {
		return configError("revocation needs cookie storage: with a Store, deleting a session's records already revokes it")
	}
	m.rev.backend = cfg.Revocation
	size := cfg.RevocationCacheSize
	if size == 0 {
		size = DefaultRevocationCacheSize
	}
	ttl, errTTL := max(cfg.RevocationCacheTTL, 0), max(cfg.RevocationCacheErrorTTL, 0)
	if ttl > 0 || errTTL > 0 {
		m.rev.cache = newRevocationCache(size, ttl, errTTL)
	}
	return nil
}

// revKey is what a mark revokes, before hashing: a session id (kindSID),
// an audience a and subject b (kindSub), or an application key a (kindKey).
// It is also the key of the cache, so that a cache hit costs no hashing.
type revKey struct {
	kind uint8
	sid  [sidSize]byte
	a, b string
}

// storeKey returns the key of the mark in the backend.
func (k *revKey) storeKey() string {
	var sum [sha256.Size]byte
	var prefix string
	switch k.kind {
	case kindSID:
		sum, prefix = sha256.Sum256(k.sid[:]), "sid:"
	case kindSub:
		// The audience's length first, so that no other audience and
		// subject pair hashes the same bytes.
		h := sha256.New()
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(k.a)))])
		h.Write([]byte(k.a))
		h.Write([]byte(k.b))
		h.Sum(sum[:0])
		prefix = "sub:"
	default:
		sum, prefix = sha256.Sum256([]byte(k.a)), "key:"
	}
	var out [4 + 43]byte
	copy(out[:], prefix)
	b64.Encode(out[4:], sum[:])
	return string(out[:])
}

// revokes reports whether a mark made at at (unix seconds) revokes a
// cookie created at creation: any mark on its id does, a mark on its
// subject or keys when the cookie was created at or before it.
func (k *revKey) revokes(at, creation int64) bool {
	return k.kind == kindSID || creation <= at
}

// errRevoked is the error of a revoked session: the same class as a
// destroyed session's.
var errRevoked = newError(ErrNotFound, "session revoked")

// revLookup is what the open of a cookie looks up: keys, and hashed, when
// known, their store keys (hashed[i] is keys[i].storeKey(), from the open
// cache, never changed).
type revLookup struct {
	keys   []revKey
	hashed []string
}

// lookupOf returns the lookup of the cookie md and its entry e for the
// configured audience (nil when it has none: only its id is looked up),
// in buf.
func lookupOf(buf []revKey, md *meta, e *entry) revLookup {
	keys := append(buf[:0], revKey{kind: kindSID, sid: md.sid})
	if e != nil {
		if e.hasSubject {
			keys = append(keys, revKey{kind: kindSub, a: e.audience, b: e.subject})
		}
		for _, k := range e.keys {
			keys = append(keys, revKey{kind: kindKey, a: k})
		}
	}
	return revLookup{keys: keys}
}

// hashedCopy returns a copy of l with its store keys, for the open cache.
func (l revLookup) hashedCopy() revLookup {
	out := revLookup{keys: slices.Clone(l.keys), hashed: make([]string, len(l.keys))}
	for i := range l.keys {
		out.hashed[i] = l.keys[i].storeKey()
	}
	return out
}

// revoked reports whether a cookie created at creation is revoked by a mark
// on one of keys: cached answers first, then one backend call for the keys
// the cache does not hold. cached reports that err came from the cache.
// hashed, when not nil, holds the store keys of keys.
func (m *Manager) revoked(ctx context.Context, keys []revKey, hashed []string, creation int64) (revoked, cached bool, err error) {
	r := &m.rev
	now := m.clock()
	var missBuf [8]int
	miss := missBuf[:0]
	if c := r.cache; c != nil {
		var hit bool
		var cachedErr error
		miss, hit, cachedErr = c.lookup(keys, creation, now, miss)
		switch {
		case hit:
			return true, false, nil
		case cachedErr != nil:
			return false, true, cachedErr
		case len(miss) == 0:
			return false, false, nil
		}
	} else {
		for i := range keys {
			miss = append(miss, i)
		}
	}
	storeKeys := make([]string, len(miss)) // the backend's own, even when hashed is shared
	for j, i := range miss {
		if hashed != nil {
			storeKeys[j] = hashed[i]
		} else {
			storeKeys[j] = keys[i].storeKey()
		}
	}
	callCtx, done := m.storeCall(ctx, StoreRevoked, "")
	ats, err := r.backend.Revoked(callCtx, storeKeys, now)
	if done != nil || err != nil {
		m.storeDone(callCtx, done, StoreRevoked, "", err)
	}
	if err == nil && len(ats) != len(storeKeys) {
		err = fmt.Errorf("revocation backend answered %d of %d keys", len(ats), len(storeKeys))
	}
	if err != nil {
		if c := r.cache; c != nil {
			c.putError(keys, miss, err, now)
		}
		return false, false, err
	}
	if c := r.cache; c != nil {
		c.putAnswers(keys, miss, ats, now)
	}
	for j, i := range miss {
		if !ats[j].IsZero() && keys[i].revokes(ats[j].Unix(), creation) {
			return true, false, nil
		}
	}
	return false, false, nil
}

// checkRevoked looks up the cookie just opened (md): lookup is lookupOf
// md and its entry for the configured audience. A revoked cookie, or with
// FailClosed one that cannot be looked up, is forgotten, so that a later
// save starts a new session rather than keep the revoked one's creation
// time.
func (s *Session) checkRevoked(remember bool, md *meta, lookup revLookup) error {
	m := s.m
	if m.rev.backend == nil {
		return nil
	}
	revoked, cached, err := m.revoked(s.ex.Context(), lookup.keys, lookup.hashed, md.creationTime)
	switch {
	case err != nil && m.rev.failOpen:
		if !cached {
			m.logger.WarnContext(s.ex.Context(), "session: unable to check session revocation; the session is treated as not revoked (RevocationFailMode open)", "err", err)
		}
		return nil
	case err != nil:
		s.forgetCookie(remember)
		return wrapError(ErrStore, "unable to check session revocation", err)
	case revoked:
		s.forgetCookie(remember)
		return errRevoked
	}
	return nil
}

// forgetCookie drops what the session knows of the request's session or
// remember cookie.
func (s *Session) forgetCookie(remember bool) {
	if remember {
		s.rmeta = meta{}
	} else {
		s.meta = meta{}
	}
}

// checkRememberCreation runs before a save re-issues the remember cookie
// with the creation time of the request's remember cookie, which was only
// authenticated (not opened). If that cookie was revoked, or a mark on the
// subjects or keys the new cookie carries was made after it was created,
// the new cookie would be born revoked: it starts afresh instead. So does
// it when the backend cannot be asked.
func (s *Session) checkRememberCreation() {
	m := s.m
	if m.rev.backend == nil || !s.rmeta.valid {
		return
	}
	keys := []revKey{{kind: kindSID, sid: s.rmeta.sid}}
	for i := range s.entries {
		e := &s.entries[i]
		if e.hasSubject {
			keys = append(keys, revKey{kind: kindSub, a: e.audience, b: e.subject})
		}
		for _, k := range e.keys {
			keys = append(keys, revKey{kind: kindKey, a: k})
		}
	}
	if revoked, _, err := m.revoked(s.ex.Context(), keys, nil, s.rmeta.creationTime); revoked || err != nil {
		s.rmeta = meta{}
	}
}

// requestSIDs holds the ids of the cookies the request came with, once
// authenticated: Destroy revokes them, besides the cookies of this
// request's saves, since a save (a refresh, a restore from the remember
// cookie) replaces the cookie that a copy was taken of.
type requestSIDs struct {
	cookie, remember cookieID
}

// cookieID is the id and lifetime fields of one cookie.
type cookieID struct {
	valid         bool
	sid           [sidSize]byte
	creationTime  int64
	rollingOffset int64
}

func idOf(h *header) cookieID {
	return cookieID{valid: true, sid: h.sid, creationTime: h.creationTime, rollingOffset: h.rollingOffset}
}

// noteRequestCookie records the id of a request cookie that was just
// authenticated.
func (s *Session) noteRequestCookie(remember bool, md *meta) {
	if s.m.rev.backend == nil {
		return
	}
	if remember {
		s.rev.remember = idOf(&md.header)
	} else {
		s.rev.cookie = idOf(&md.header)
	}
}

// revokeDestroyed writes the marks of a destroyed session: one for each
// session and remember cookie id the browser had in this request or got
// from it, kept as long as that cookie could still open. With FailOpen a
// failure is logged and nil returned; with FailClosed it matches ErrStore.
func (s *Session) revokeDestroyed() error {
	m := s.m
	if m.rev.backend == nil {
		return nil
	}
	now := m.now()
	var ids [4]cookieID
	var remember [4]bool
	n := 0
	for _, c := range [...]struct {
		id       cookieID
		remember bool
	}{
		{s.rev.cookie, false},
		{s.validID(&s.meta), false},
		{s.rev.remember, true},
		{s.validID(&s.rmeta), true},
	} {
		if !c.id.valid || (n > 0 && ids[n-1].sid == c.id.sid) {
			continue
		}
		ids[n], remember[n] = c.id, c.remember
		n++
	}
	marks := make([]store.Mark, 0, n)
	keys := make([]revKey, 0, n)
	for i := range n {
		life := m.remainingLife(remember[i], now, &ids[i])
		if life <= 0 {
			continue // that cookie no longer opens
		}
		k := revKey{kind: kindSID, sid: ids[i].sid}
		keys = append(keys, k)
		marks = append(marks, store.Mark{
			Key: k.storeKey(),
			At:  time.Unix(max(now, ids[i].creationTime), 0),
			TTL: time.Duration(life)*time.Second + markMargin,
		})
	}
	if len(marks) == 0 {
		return nil
	}
	err := m.writeMarks(s.ex.Context(), keys, marks, now, "unable to revoke session")
	if err != nil && m.rev.failOpen {
		m.logger.WarnContext(s.ex.Context(), "session: unable to write the revocation mark of a destroyed session; copies of its cookies keep working until they time out (RevocationFailMode open)", "err", err)
		return nil
	}
	return err
}

// validID returns the id of md when it is valid.
func (s *Session) validID(md *meta) cookieID {
	if !md.valid {
		return cookieID{}
	}
	return idOf(&md.header)
}

// remainingLife is how many seconds a cookie may still open: what is left
// of its rolling and absolute timeouts, the smaller (400 days when neither
// is set).
func (m *Manager) remainingLife(remember bool, now int64, id *cookieID) int64 {
	rolling, absolute := m.rolling, m.absolute
	if remember {
		rolling, absolute = m.rememberRolling, m.rememberAbsolute
	}
	life := int64(maxTTL)
	if rolling > 0 {
		life = rolling - (now - id.creationTime - id.rollingOffset)
	}
	if absolute > 0 {
		life = min(life, absolute-(now-id.creationTime))
	}
	return life
}

// longestLife is how long a cookie of this Manager may open after it was
// created: the longer of the absolute timeouts of session and remember
// cookies (any session may turn remember on), 400 days for a timeout that
// is off, plus markMargin.
func (m *Manager) longestLife() time.Duration {
	life := func(absolute int64) int64 {
		if absolute > 0 {
			return absolute
		}
		return maxTTL
	}
	return time.Duration(max(life(m.absolute), life(m.rememberAbsolute)))*time.Second + markMargin
}

// writeMarks writes marks to the backend and, at once, to the cache (even
// when the write fails: this process then still honours them). A failure
// wraps ErrStore with msg.
func (m *Manager) writeMarks(ctx context.Context, keys []revKey, marks []store.Mark, now int64, msg string) error {
	if c := m.rev.cache; c != nil {
		c.putMarks(keys, marks, m.clock())
	}
	callCtx, done := m.storeCall(ctx, StoreRevoke, "")
	err := m.rev.backend.Revoke(callCtx, marks, time.Unix(now, 0))
	if done != nil || err != nil {
		m.storeDone(callCtx, done, StoreRevoke, "", err)
	}
	if err == nil {
		return nil
	}
	return wrapError(ErrStore, msg, err)
}

// Revoke revokes every session that carries key among its revocation keys
// (Session.SetRevocationKeys) and was created at or before now, in every
// audience: Open rejects them with an error matching ErrNotFound from now
// on (in other processes once their RevocationCacheTTL has passed), while
// a session created later, a new sign-in, opens. The mark is kept for ttl;
// 0 (or negative) keeps it as long as any cookie of this Manager can live.
// It needs cookie storage and Config.Revocation (else an error matching
// ErrInvalidConfig); a backend failure matches ErrStore, whatever the
// fail mode.
//
// This is the receiving end of an identity provider's logout (OpenID
// Connect Back-Channel Logout: Revoke("sid:"+iss+"#"+sid, 0) for a logout
// token with a sid claim, Revoke("sub:"+iss+"#"+sub, 0) for one with a sub
// claim), which comes without any cookie at hand.
func (m *Manager) Revoke(ctx context.Context, key string, ttl time.Duration) error {
	if m.rev.backend == nil {
		return configError("Revoke needs cookie storage and Config.Revocation")
	}
	if ttl <= 0 {
		ttl = m.longestLife()
	}
	if err := m.writeMark(ctx, revKey{kind: kindKey, a: key}, max(ttl, time.Second)); err != nil {
		return err
	}
	m.revokedHook(ctx, RevokeKey, 0)
	return nil
}

// revokeSubject writes the mark of Manager.RevokeSessions with cookie
// storage.
func (m *Manager) revokeSubject(ctx context.Context, audience, subject string) error {
	return m.writeMark(ctx, revKey{kind: kindSub, a: audience, b: subject}, m.longestLife())
}

// writeMark writes one mark made now.
func (m *Manager) writeMark(ctx context.Context, k revKey, ttl time.Duration) error {
	now := m.now()
	mark := store.Mark{Key: k.storeKey(), At: time.Unix(now, 0), TTL: ttl}
	return m.writeMarks(ctx, []revKey{k}, []store.Mark{mark}, now, "unable to revoke sessions")
}
