package session

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/sessiongo/session/core/store"
)

// Limits of the client facts a save records (DeviceFacts): longer values
// are cut, at a UTF-8 boundary, so that a client cannot grow the store
// with a huge User-Agent.
const (
	maxFactUserAgent = 512
	maxFactIP        = 64
	maxFactLabel     = 128
)

// DeviceFacts are client facts an application chooses to record about the
// browser of a session, for the "your devices" listing (Manager.Devices).
// They are personal data (an IP address, a User-Agent): record them only
// with a lawful basis, tell your users, and keep them no longer than the
// session (the store drops them with the browser session's records). Values
// longer than 512 (UserAgent), 64 (IP) or 128 (Label) bytes are cut.
type DeviceFacts struct {
	UserAgent string `json:"ua,omitempty"`    // the request's User-Agent, as the client sent it
	IP        string `json:"ip,omitempty"`    // the client's address, as the application sees it
	Label     string `json:"label,omitempty"` // a name the user or the application gave the device
}

// SetDeviceFacts records facts about the client of the session, stored with
// the session's next save (a login, a refresh) beside the session's records
// in a store that implements store.GroupInfoReader, for Manager.Devices;
// other stores and cookie storage ignore them. Nothing is recorded unless
// the application calls it: see DeviceFacts on personal data. Call it where
// the session saves anyway (at login) rather than on every request: the
// facts travel with saves only, never in a write of their own.
func (s *Session) SetDeviceFacts(f DeviceFacts) {
	if s.state == stateClosed {
		return
	}
	f.UserAgent = cut(f.UserAgent, maxFactUserAgent)
	f.IP = cut(f.IP, maxFactIP)
	f.Label = cut(f.Label, maxFactLabel)
	b, err := json.Marshal(f)
	if err != nil { // strings only: cannot fail
		return
	}
	s.facts = b
}

// cut returns s cut to at most n bytes at a UTF-8 boundary, made valid.
func cut(s string, n int) string {
	if len(s) > n {
		s = s[:n]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// Device is one browser session of a user, as Manager.Devices lists it: the
// session cookie's record and the remember cookie's record of one browser,
// linked in the store, are one Device.
type Device struct {
	// ID names the device for RevokeDevice. It is a hash of the store's
	// name for the browser session: it reveals no session id and can be
	// shown to the user and sent back in a form.
	ID string
	// Kind is CookieRemember when the browser holds a remember cookie
	// ("keep me signed in"), CookieSession otherwise.
	Kind CookieKind
	// Created is when the browser session was first saved signed in, and
	// LastSeen when it was last saved: a login, a Save of the application,
	// or the save of Refresh once 3/4 of Config.RollingTimeout has passed.
	// It rides on those writes and costs none of its own, so a touch or an
	// ordinary request does not move it. Both are zero in a store that does
	// not implement store.GroupInfoReader.
	Created, LastSeen time.Time
	// Expires is when the last of its records expires.
	Expires time.Time
	// Facts are what the application recorded with SetDeviceFacts.
	Facts DeviceFacts
	// Current is set by Session.Devices on the browser of that session.
	Current bool

	records []namedEntry
}

// Devices lists the browser sessions ("devices") of a subject in the
// Manager's audience, most recently seen first: per browser, its kind,
// creation time, last seen, expiry and recorded facts. It reads the
// subject index (see Sessions, whose errors it returns) and, from a store
// that implements store.GroupInfoReader (the memory and file stores, Redis,
// memcached, SQL), the info that links a browser's session and remember
// records into one Device; from any other store, each record is a Device
// of its own without times or facts.
func (m *Manager) Devices(ctx context.Context, subject string) ([]Device, error) {
	named, err := m.indexEntries(ctx, subject)
	if err != nil {
		return nil, err
	}
	gi, _ := m.store.(store.GroupInfoReader)
	now := m.clock()
	var out []Device
	byID := map[string]int{}
	for _, e := range named {
		var info store.GroupInfo
		if gi != nil {
			info, err = m.groupInfo(ctx, gi, e, now)
			if errors.Is(err, ErrNotFound) {
				continue // ended since the index was read
			}
			if err != nil {
				return nil, wrapError(ErrStore, "unable to read device info", err)
			}
		} else {
			info.ID = "record\x00" + e.name + "\x00" + e.Key
		}
		i, ok := byID[info.ID]
		if !ok {
			i = len(out)
			byID[info.ID] = i
			sum := sha256.Sum256([]byte("sessiongo device\x00" + info.ID))
			d := Device{ID: b64.EncodeToString(sum[:16]), Kind: CookieSession, Created: info.Created, LastSeen: info.Seen}
			if len(info.Facts) > 0 {
				_ = json.Unmarshal(info.Facts, &d.Facts) // unreadable facts: none
			}
			out = append(out, d)
		}
		d := &out[i]
		d.records = append(d.records, e)
		if e.name == m.rememberName {
			d.Kind = CookieRemember
		}
		if e.Expires.After(d.Expires) {
			d.Expires = e.Expires
		}
	}
	slices.SortStableFunc(out, func(a, b Device) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// groupInfo reads the group info of the record e, as one store call.
func (m *Manager) groupInfo(ctx context.Context, gi store.GroupInfoReader, e namedEntry, now time.Time) (store.GroupInfo, error) {
	kind := kindOf(e.name == m.rememberName)
	callCtx, done := m.storeCall(ctx, StoreGroupInfo, kind)
	info, err := gi.GroupInfo(callCtx, e.name, e.Key, now)
	if done != nil || err != nil {
		m.storeDone(callCtx, done, StoreGroupInfo, kind, err)
	}
	return info, err
}

// Devices lists the devices of the session's subject in the Manager's
// audience (see Manager.Devices), with Current set on the session's own
// browser. A session without a subject has none.
func (s *Session) Devices(ctx context.Context) ([]Device, error) {
	if s.state == stateClosed {
		return nil, errClosed("list devices of")
	}
	if !s.entry().hasSubject {
		return nil, nil
	}
	ds, err := s.m.Devices(ctx, s.entry().subject)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		ds[i].Current = s.holds(&ds[i])
	}
	return ds, nil
}

// holds reports whether a record of d is one of the session's cookies.
func (s *Session) holds(d *Device) bool {
	m := s.m
	for _, e := range d.records {
		md := &s.meta
		if e.name == m.rememberName {
			md = &s.rmeta
		}
		if md.valid && e.Key == m.storageKey(md.sid[:]) {
			return true
		}
	}
	return false
}

// RevokeDevice signs out one device of a subject: it deletes the records of
// the browser session whose Device.ID is id, as Manager.Devices lists it.
// An id no device has (signed out already, or never one of the subject's)
// is not an error: it reports false. Errors are those of Devices; a failed
// delete matches ErrStore.
func (m *Manager) RevokeDevice(ctx context.Context, subject, id string) (bool, error) {
	ds, err := m.Devices(ctx, subject)
	if err != nil {
		return false, err
	}
	for i := range ds {
		if ds[i].ID == id {
			if err := m.revokeDevice(ctx, &ds[i]); err != nil {
				return false, err
			}
			m.revokedHook(ctx, RevokeSession, 0)
			return true, nil
		}
	}
	return false, nil
}

// RevokeOtherSessions signs out every other device of the session's subject
// in the Manager's audience ("sign out all other devices"): it deletes the
// records of every browser session that Session.Devices does not mark
// Current, keeping this browser's session and remember records, and
// returns how many devices it signed out. A session without a subject ends
// nothing. Errors are those of Devices; a failed delete matches ErrStore,
// the count saying how many were signed out before it.
//
// The current browser is told apart by the store's link between records
// (store.GroupInfoReader): with a store without it, a record of this
// browser that the index lists besides its current cookies (a concurrent
// request's rotation) would end this browser's session too.
func (m *Manager) RevokeOtherSessions(ctx context.Context, s *Session) (int, error) {
	ds, err := s.Devices(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range ds {
		if ds[i].Current {
			continue
		}
		if err := m.revokeDevice(ctx, &ds[i]); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		m.revokedHook(ctx, RevokeSession, n)
	}
	return n, nil
}

// revokeDevice deletes the records of d (Delete ends each one's group).
func (m *Manager) revokeDevice(ctx context.Context, d *Device) error {
	for _, e := range d.records {
		if err := m.deleteRecord(ctx, e.name, e.Key, e.md); err != nil {
			return wrapError(ErrStore, "unable to revoke device", err)
		}
	}
	return nil
}
