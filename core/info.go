package session

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/sessiongo/session/core/store"
)

// Info is the session's information store (the reference's session.info):
// values kept beside the session that can be saved without issuing a new
// cookie. With a server-side store they live, per audience, in the store
// record next to the ciphertext, and Info.Save only rewrites that record.
// With cookie storage they live in the data under "@" + key, and Info.Save
// is a full Save.
type Info struct{ s *Session }

// Info returns the session's information store.
func (s *Session) Info() *Info { return &Info{s} }

// Get returns the value of key for the current audience, with the types of
// Session.Get (float64 for every number read back).
func (i *Info) Get(key string) any {
	s := i.s
	if s.state == stateClosed {
		return nil
	}
	if s.m.store == nil {
		v := s.entry().data["@"+key]
		if !shareable(v) && s.shared {
			s.own()
			v = s.entry().data["@"+key]
		}
		return compatValue(v)
	}
	return s.info[s.entry().audience][key]
}

// Set sets key to value for the current audience; a nil value deletes it.
func (i *Info) Set(key string, value any) {
	s := i.s
	if s.state == stateClosed {
		return
	}
	if s.m.store == nil {
		s.own()
		if value == nil {
			delete(s.entry().data, "@"+key)
		} else {
			s.entry().data["@"+key] = value
		}
		return
	}
	audience := s.entry().audience
	if value == nil {
		delete(s.info[audience], key)
		return
	}
	if s.info == nil {
		s.info = map[string]map[string]any{}
	}
	if s.info[audience] == nil {
		s.info[audience] = map[string]any{}
	}
	s.info[audience][key] = value
}

// Save stores the information. With a server-side store only the record is
// rewritten and no cookie is sent: its expiry stays as it was, and a record
// that no longer exists (the session was destroyed, revoked or has expired)
// is not written again but reported as an error matching ErrNotFound. With
// cookie storage it is a full Save.
func (i *Info) Save() error {
	s := i.s
	switch s.state {
	case stateClosed:
		return errClosed("save session info on")
	case stateNew:
		return errNonexistent("save session info on")
	}
	if s.m.store == nil {
		return s.Save()
	}
	if len(s.info) == 0 {
		return nil
	}
	if err := s.saveInfo(false); err != nil {
		return err
	}
	if s.rememberOn() {
		if !s.rmeta.valid {
			if err, _ := s.open(true, true); err != nil {
				return s.save(stateNew, true)
			}
		}
		return s.saveInfo(true)
	}
	return nil
}

// saveInfo rewrites the store record of one cookie with the current info.
func (s *Session) saveInfo(remember bool) error {
	m := s.m
	name, md := m.cookieName, &s.meta
	if remember {
		name, md = m.rememberName, &s.rmeta
	}
	record := getBuf()
	defer putBuf(record)
	if err := s.appendRecord(record, md.ciphertext); err != nil {
		return err
	}
	// Replace: an info save only updates a record that still exists,
	// keeping its expiry, group and index entries, so that it can never
	// bring back a record that was destroyed, revoked or has expired.
	now := m.now()
	ctx, done := m.storeCall(s.ex.Context(), StoreSet, kindOf(remember))
	err := m.store.Set(ctx, name, m.storageKey(md.sid[:]), bytes.Clone(record.Bytes()), store.SetOptions{
		TTL:     time.Duration(m.storeTTL(remember, now, md.creationTime, md.rollingOffset)) * time.Second,
		Now:     time.Unix(now, 0),
		Replace: true,
	})
	if done != nil || err != nil {
		m.storeDone(ctx, done, StoreSet, kindOf(remember), err)
	}
	if err != nil {
		return storeError("unable to store session info", err)
	}
	return nil
}

func encodeInfo(info map[string]map[string]any) (string, error) {
	raw, err := json.Marshal(info)
	if err != nil {
		return "", wrapError(ErrInvalid, "unable to json encode session info", err)
	}
	return b64.EncodeToString(raw), nil
}
