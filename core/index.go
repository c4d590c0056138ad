package session

import (
	"context"
	"crypto/sha256"
	"slices"
	"time"
	"unicode/utf8"

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

// namedEntry is an index entry with the cookie name it was found under and
// the index (or indexes) that listed it.
type namedEntry struct {
	name string
	md   *store.Metadata
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

// subjectIndexes returns the subject indexes of subject in the Manager's
// audience that the index methods read: the one of save, then the
// reference's index of sessions of two or more audiences when rawSubject
// allows it.
func (m *Manager) subjectIndexes(subject string) []*store.Metadata {
	mds := []*store.Metadata{m.subjectMetadata(subject)}
	if m.rawSubject(subject) {
		mds = append(mds, &store.Metadata{Audiences: mds[0].Audiences, Subjects: []string{subject}})
	}
	return mds
}

// rawSubject reports whether the index methods also read the index of
// subject as given, neither encoded nor hashed, which is where the
// reference (4.1.5) indexes its sessions of two or more audiences, whatever
// its hash_subject says. Not when that index could be the encoded index of
// another subject, lest one user's "log out everywhere" end another's
// sessions (a user who signs up as "YWxpY2U", the encoding of "alice"):
// with HashSubject, a subject of 22 base64url characters (the encoding of a
// 16-byte hash); without it, the base64url encoding of UTF-8 text (every
// subject is UTF-8: it travels as JSON). Nor for an empty subject.
func (m *Manager) rawSubject(subject string) bool {
	if subject == "" {
		return false
	}
	decoded, err := b64.DecodeString(subject)
	if err != nil {
		return true
	}
	if m.hashSubject {
		return len(decoded) != sha256.Size/2
	}
	return !utf8.Valid(decoded)
}

// indexEntries lists the live index entries of subject in the Manager's
// audience under both cookie names, from every index of subjectIndexes.
func (m *Manager) indexEntries(ctx context.Context, subject string) ([]namedEntry, error) {
	idx, err := m.subjectIndex()
	if err != nil {
		return nil, err
	}
	now := m.clock()
	var out []namedEntry
	seen := map[store.RecordKey]int{} // record -> its position in out
	for _, md := range m.subjectIndexes(subject) {
		for _, name := range [...]string{m.cookieName, m.rememberName} {
			entries, err := m.listIndex(ctx, idx, name, md, now)
			if err != nil {
				return nil, wrapError(ErrStore, "unable to read session metadata", err)
			}
			for _, e := range entries {
				rk := store.RecordKey{Name: name, Key: e.Key}
				if i, ok := seen[rk]; ok {
					// Listed by both indexes: a revoke removes it from both.
					prev := out[i].md
					out[i].md = &store.Metadata{
						Audiences: append(slices.Clip(prev.Audiences), md.Audiences...),
						Subjects:  append(slices.Clip(prev.Subjects), md.Subjects...),
					}
					continue
				}
				seen[rk] = len(out)
				out = append(out, namedEntry{name: name, md: md, IndexEntry: e})
			}
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
// In a store shared with the reference library, the sessions it saved with
// two or more audiences are listed too: it indexes them under the subject
// as given, not encoded, and Sessions reads that index as well, unless the
// subject could be the encoded subject of another user (with HashSubject, 22
// base64url characters; without it, the base64url encoding of UTF-8 text):
// then such sessions are not found. sessiongo itself indexes every session
// under the encoded subject.
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
	n := 0
	for _, e := range named {
		if err := m.deleteRecord(ctx, e.name, e.Key, e.md); err != nil {
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
// Errors are those of Sessions, which it calls to find the key in the
// reference's index of sessions of several audiences (see Sessions).
func (m *Manager) RevokeSession(ctx context.Context, subject, key string) error {
	idx, err := m.subjectIndex()
	if err != nil {
		return err
	}
	mds := m.subjectIndexes(subject)
	names := [...]string{m.cookieName, m.rememberName}
	var md [len(names)]*store.Metadata
	for i, name := range names {
		md[i] = mds[0]
		// The reference's index of sessions of several audiences is given
		// to Delete only when it lists the key: Delete may write to the
		// indexes it is given, and this one names the subject in clear.
		for _, raw := range mds[1:] {
			entries, err := m.listIndex(ctx, idx, name, raw, m.clock())
			if err != nil {
				return wrapError(ErrStore, "unable to read session metadata", err)
			}
			if slices.ContainsFunc(entries, func(e store.IndexEntry) bool { return e.Key == key }) {
				md[i] = &store.Metadata{
					Audiences: []string{mds[0].Audiences[0], raw.Audiences[0]},
					Subjects:  []string{mds[0].Subjects[0], raw.Subjects[0]},
				}
			}
		}
	}
	for i, name := range names {
		if err := m.deleteRecord(ctx, name, key, md[i]); err != nil {
			return wrapError(ErrStore, "unable to revoke session", err)
		}
	}
	m.revokedHook(ctx, RevokeSession, 0)
	return nil
}

// listIndex reads the index md of cookie name, as one store call.
func (m *Manager) listIndex(ctx context.Context, idx store.SubjectIndex, name string, md *store.Metadata, now time.Time) ([]store.IndexEntry, error) {
	kind := kindOf(name == m.rememberName)
	callCtx, done := m.storeCall(ctx, StoreSessions, kind)
	entries, err := idx.Sessions(callCtx, name, md.Audiences[0], md.Subjects[0], now)
	if done != nil || err != nil {
		m.storeDone(callCtx, done, StoreSessions, kind, err)
	}
	return entries, err
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
