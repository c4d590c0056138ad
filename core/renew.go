package session

import (
	"time"

	"github.com/sessiongo/session/core/store"
)

// Renew replaces the session with a new one that holds the same data: a new
// session id and creation time, and new cookies. Call it when the privilege
// of a session changes, above all at login, so that an id an attacker knew
// before (session fixation) or a copy of the visitor's earlier cookie does
// not come to hold a signed-in user:
//
//	s, err := m.Open(w, r) // or the middleware's session; a new one is fine
//	if err != nil { ... }  // a store outage
//	// ... check the credentials ...
//	s.SetSubject(user)
//	s.SetRemember(rememberMe) // optional
//	if err := s.Renew(); err != nil { ... }
//
// and at logout, s.Destroy() (or s.Logout() for one audience).
//
// With a server-side store, the records of the previous session — its
// session record with the stale copies earlier saves left, and its remember
// record: the whole group, see Store — are deleted and removed from the
// subject index before the new cookies are sent, so the previous cookies no
// longer open; the new records start a group of their own. If the deletion
// fails, nothing is sent and the error matches ErrStore. With cookie storage
// Renew only issues the new cookies: copies of the previous cookie, if any
// were taken, keep working until one of their timeouts passes (Renew writes
// no revocation mark, even with Config.Revocation).
//
// Every audience's entry, the subject and the info store are kept. A
// remember cookie is issued when remember is on (the configured Remember,
// or SetRemember in this request: the FORGET flag of the previous cookie is
// not carried over), with a new creation time; when it is off, a remember
// cookie the request carried is expired. A session that does not exist yet
// is simply saved. The session exists afterwards.
//
// Renew starts the new session from the data in hand, whether or not the
// previous records still exist (they may have expired or been revoked since
// Open, where Save would fail with ErrNotFound): call it once the user has
// proven who they are.
func (s *Session) Renew() error {
	if s.state == stateClosed {
		return errClosed("renew")
	}
	m := s.m
	if !s.rmeta.valid && !s.renewed {
		// The request's remember cookie belongs to the session being
		// replaced: find it, to delete its record and its cookie.
		s.open(true, true) //nolint:errcheck // no valid remember cookie: nothing to replace
	}
	if m.store != nil {
		if err := s.deleteReplaced(); err != nil {
			return err
		}
	}
	old, oldRemember := s.meta, s.rmeta
	s.replaced = [2]cookieID{s.validID(&old), s.validID(&oldRemember)}
	s.meta, s.rmeta = meta{}, meta{}
	s.indexed = nil
	s.renewed = true
	if err := s.save(stateOpen, false); err != nil {
		return err
	}
	s.expireReplaced(m.cookieName, &old, &s.meta)
	s.saveRemember()
	s.expireReplaced(m.rememberName, &oldRemember, &s.rmeta)
	return nil
}

// deleteReplaced deletes the store records of the session and remember
// cookies that Renew replaces, with their group, and removes them from the
// subject index they were stored in.
func (s *Session) deleteReplaced() error {
	m := s.m
	md := s.indexed
	if md == nil {
		md = s.metadata()
	}
	for _, c := range [...]struct {
		name string
		md   *meta
	}{{m.cookieName, &s.meta}, {m.rememberName, &s.rmeta}} {
		if !c.md.valid {
			continue
		}
		kind := kindOf(c.name == m.rememberName)
		ctx, done := m.storeCall(s.ex.Context(), StoreDelete, kind)
		err := m.store.Delete(ctx, c.name, m.storageKey(c.md.sid[:]), store.DeleteOptions{
			Now:      time.Unix(m.now(), 0),
			Metadata: md,
		})
		if done != nil || err != nil {
			m.storeDone(ctx, done, StoreDelete, kind, err)
		}
		if err != nil {
			return wrapError(ErrStore, "unable to renew session", err)
		}
	}
	return nil
}

// expireReplaced expires the cookie chunks of name that the replaced cookie
// (old) had and the new one (cur) has not: the surplus chunks, or the whole
// cookie when no new one was issued.
func (s *Session) expireReplaced(name string, old, cur *meta) {
	if !old.valid {
		return
	}
	had, has := 1, 0
	if s.m.store == nil {
		had, _ = chunkCount(len(name), old.dataSize)
	}
	if cur.valid {
		has = 1
		if s.m.store == nil {
			has, _ = chunkCount(len(name), cur.dataSize)
		}
	}
	for i := has + 1; i <= had; i++ {
		cn := chunkName(name, i)
		s.ex.SetCookie(cn, cookieLine(cn, s.m.attrs, expiredAttrs))
	}
}
