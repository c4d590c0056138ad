package session

import (
	"context"

	"github.com/sessiongo/session/core/store"
)

// errNoIndex is returned by the subject index methods when the configured
// store keeps no subject index.
var errNoIndex = configError("store keeps no subject index (it does not implement store.SubjectIndex)")

// subjectIndex returns the store's subject index, or an error matching
// ErrInvalidConfig when there is none.
func (m *Manager) subjectIndex() (store.SubjectIndex, error) {
	if m.store == nil {
		return nil, configError("cookie storage keeps no subject index (configure a Store)")
	}
	idx, ok := m.store.(store.SubjectIndex)
	if !ok {
		return nil, errNoIndex
	}
	return idx, nil
}

// namedEntry is an index entry with the cookie name it was found under.
type namedEntry struct {
	name string
	store.IndexEntry
}

// subjectMetadata returns the subject index entry of subject in the Manager's
// audience, encoded as on save.
func (m *Manager) subjectMetadata(subject string) *store.Metadata {
	return &store.Metadata{
		Audiences: []string{m.encodeAudience(m.audience)},
		Subjects:  []string{m.encodeSubject(subject)},
	}
}

// indexEntries lists the live index entries of subject in the Manager's
// audience under both cookie names.
func (m *Manager) indexEntries(ctx context.Context, subject string) ([]namedEntry, error) {
	idx, err := m.subjectIndex()
	if err != nil {
		return nil, err
	}
	md := m.subjectMetadata(subject)
	now := m.clock()
	var out []namedEntry
	for _, name := range [...]string{m.cookieName, m.rememberName} {
		kind := kindOf(name == m.rememberName)
		callCtx, done := m.storeCall(ctx, StoreSessions, kind)
		entries, err := idx.Sessions(callCtx, name, md.Audiences[0], md.Subjects[0], now)
		if done != nil || err != nil {
			m.storeDone(callCtx, done, StoreSessions, kind, err)
		}
		if err != nil {
			return nil, wrapError(ErrStore, "unable to read session metadata", err)
		}
		for _, e := range entries {
			out = append(out, namedEntry{name: name, IndexEntry: e})
		}
	}
	return out, nil
}

// Sessions lists the live sessions of a subject (usually a user id) in the
// Manager's audience (Config.Audience), from the store's subject index: one
// entry per store record of the session cookie and of the remember cookie
// (store.IndexEntry.Remember), soonest to expire first. The session and
// remember records of one browser are linked in the store: revoking either
// ends both. subject is given in clear; it is encoded (and hashed, with
// Config.HashSubject) as on save. To list the sessions of another audience,
// use a Manager configured with that audience.
//
// The index is kept only with Config.StoreMetadata; without it the list is
// empty. A store that keeps no subject index (it does not implement
// store.SubjectIndex), or cookie storage, is an error matching
// ErrInvalidConfig; a store failure matches ErrStore.
func (m *Manager) Sessions(ctx context.Context, subject string) ([]store.IndexEntry, error) {
	named, err := m.indexEntries(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]store.IndexEntry, len(named))
	for i, e := range named {
		out[i] = e.IndexEntry
		out[i].Remember = e.name == m.rememberName
	}
	sortEntries(out)
	return out, nil
}

// RevokeSessions deletes every live session of a subject in the Manager's
// audience, as listed by Sessions ("log out everywhere"), and returns how
// many store records it deleted. Cookies that still point at them fail to
// open with ErrNotFound from then on. Errors are those of Sessions; a failed
// delete matches ErrStore and the count says how many were deleted before
// it.
//
// With cookie storage and Config.Revocation it writes one mark instead and
// returns 0 (the sessions are not known): the subject's sessions in the
// audience created at or before now fail to open with ErrNotFound (in other
// processes once their RevocationCacheTTL has passed), while one created
// later, a new sign-in, opens. A failed write matches ErrStore.
func (m *Manager) RevokeSessions(ctx context.Context, subject string) (int, error) {
	if m.store == nil && m.rev.backend != nil {
		if err := m.revokeSubject(ctx, m.audience, subject); err != nil {
			return 0, err
		}
		m.revokedHook(ctx, RevokeSubject, 0)
		return 0, nil
	}
	named, err := m.indexEntries(ctx, subject)
	if err != nil {
		return 0, err
	}
	md := m.subjectMetadata(subject)
	n := 0
	for _, e := range named {
		if err := m.deleteRecord(ctx, e.name, e.Key, md); err != nil {
			return n, wrapError(ErrStore, "unable to revoke session", err)
		}
		n++
	}
	m.revokedHook(ctx, RevokeSubject, n)
	return n, nil
}

// RevokeSession deletes one session of a subject in the Manager's audience
// by its storage key (a store.IndexEntry.Key from Sessions), whichever
// cookie it belongs to, and removes it from the index, together with the
// other records of the same browser session (its remember record, or its
// session record): use it to sign out one device, or to cap the number of
// sessions of a user. Deleting a key that is already gone is not an error.
// Errors are those of Sessions.
func (m *Manager) RevokeSession(ctx context.Context, subject, key string) error {
	if _, err := m.subjectIndex(); err != nil {
		return err
	}
	md := m.subjectMetadata(subject)
	for _, name := range [...]string{m.cookieName, m.rememberName} {
		if err := m.deleteRecord(ctx, name, key, md); err != nil {
			return wrapError(ErrStore, "unable to revoke session", err)
		}
	}
	m.revokedHook(ctx, RevokeSession, 0)
	return nil
}

// deleteRecord deletes the record of cookie name under key, and its group,
// removing it from the subject index md.
func (m *Manager) deleteRecord(ctx context.Context, name, key string, md *store.Metadata) error {
	kind := kindOf(name == m.rememberName)
	callCtx, done := m.storeCall(ctx, StoreDelete, kind)
	err := m.store.Delete(callCtx, name, key, store.DeleteOptions{Now: m.clock(), Metadata: md})
	if done != nil || err != nil {
		m.storeDone(callCtx, done, StoreDelete, kind, err)
	}
	return err
}
