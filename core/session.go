package session

import (
	"crypto/sha256"
	"encoding/json"
	"strings"

	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
)

type state uint8

const (
	stateNew state = iota
	stateOpen
	stateClosed
)

// meta is what the library knows of one cookie: its header fields, the key
// that verified it and what a touch needs to re-send it.
type meta struct {
	valid        bool
	timestamp    int64 // when it was opened or saved
	header             // decoded fields
	raw          [headerSize]byte
	key          *keyMaterial
	initialChunk string // the payload part of the first cookie chunk
	ciphertext   string // base64url ciphertext, with a store
}

// Session is one user's session within one request. Get one from a Manager
// (NewSession, or Open/Start for net/http) for each request; it is not safe
// for concurrent use.
//
// A session holds one entry per audience; the data, subject and info
// accessors act on the entry of the current audience. Setters on a closed
// session do nothing, and every method that returns an error returns one
// matching ErrClosed.
type Session struct {
	m  *Manager
	ex adapter.Exchange

	state    state
	entries  []entry
	inline   [1]entry
	cur      int
	flags    uint16 // bind flags, plus flagForget after SetRemember(false)
	remember bool

	// shared is set when the data maps of entries (and the values in them)
	// are the open cache's, shared with other requests: they are read, and
	// copied (own) before anything changes them or hands them out.
	shared bool

	meta  meta // the session cookie
	rmeta meta // the remember cookie

	// rev holds the ids of the cookies the request came with, which
	// Destroy revokes besides those of its last saves.
	rev requestSIDs

	info map[string]map[string]any // server-side info store, per audience

	// facts is the encoded DeviceFacts of SetDeviceFacts, sent with the
	// saves of this request (devices.go).
	facts []byte

	// indexed is the subject index entries the session's records were
	// stored with, taken before SetSubject or SetAudience changes them
	// (nil: those of the entries), so that Renew removes the records from
	// the index they are in.
	indexed *store.Metadata
	// renewed is set by Renew: the request's remember cookie belongs to the
	// session it replaced, and a save must not take its creation time.
	renewed bool
	// replaced holds, after Renew, the ids of the session and remember
	// cookies it replaced, for Hooks.OnRotate.
	replaced [2]cookieID

	cookies       string // the request's Cookie header
	cookiesLoaded bool
	jar           requestJar // the session's cookies in it
	jarLoaded     bool
}

func (s *Session) requestCookies() string {
	if !s.cookiesLoaded {
		s.cookies, s.cookiesLoaded = s.ex.Cookies(), true
	}
	return s.cookies
}

// requestCookie returns chunk (1 to 9) of the request's session cookie, or
// of its remember cookie. The Cookie header is read once per request.
func (s *Session) requestCookie(remember bool, chunk int) (string, bool) {
	if !s.jarLoaded {
		s.jar = readCookies(s.requestCookies(), [2]string{s.m.cookieName, s.m.rememberName})
		s.jarLoaded = true
	}
	k := 0
	if remember {
		k = 1
	}
	return s.jar.get(k, chunk)
}

func (s *Session) entry() *entry { return &s.entries[s.cur] }

// own makes the data maps the session's own before they are changed or
// handed out: copies of those it shares with the open cache (shared), and
// a map for the current entry when it has none (a new session makes its
// map only when needed). The entries slice is always the session's own,
// and revocation keys are never changed in place.
func (s *Session) own() {
	if s.shared {
		for i := range s.entries {
			s.entries[i].data = cloneValue(s.entries[i].data).(map[string]any)
		}
		s.shared = false
	}
	if e := s.entry(); e.data == nil {
		e.data = map[string]any{}
	}
}

// borrowEntries makes the open cache's entries the session's, sharing
// their data maps (see shared). extra, when not nil, is appended.
func (s *Session) borrowEntries(entries []entry, extra *entry) {
	if len(entries) == 1 && extra == nil {
		s.inline[0] = entries[0]
		s.entries = s.inline[:1]
	} else {
		out := make([]entry, len(entries), len(entries)+1)
		copy(out, entries)
		if extra != nil {
			out = append(out, *extra)
		}
		s.entries = out
	}
	s.shared = true
}

// shareable reports whether a data value can be returned while the
// session shares its data with the open cache: strings, numbers, booleans
// and nil cannot be changed through the value; maps and slices (anything
// else) can.
func shareable(v any) bool {
	switch v.(type) {
	case nil, string, float64, bool, json.Number:
		return true
	}
	return false
}

// Exists reports whether the session was opened from a valid cookie or saved
// in this request, and has not been closed since.
func (s *Session) Exists() bool { return s.state == stateOpen }

// Closed reports whether Close, Destroy or Logout ended the session.
func (s *Session) Closed() bool { return s.state == stateClosed }

// Data returns the data of the current audience. The map is the session's
// own: changes to it are saved by the next Save. It holds the values as
// they were set, or as read from the cookie: the types encoding/json gives
// an any, except that a number a float64 would change (an integer beyond
// 2^53, text such as 1.0 written by another encoder) is a json.Number, so
// that it is saved again unchanged. Its keys are the stored ones (see Set,
// Info and Flash). Prefer Decode or Get[T] to read values.
func (s *Session) Data() map[string]any {
	if s.state == stateClosed {
		return nil
	}
	s.own()
	return s.entry().data
}

// SetData replaces the data of the current audience; a nil map empties it.
func (s *Session) SetData(data map[string]any) {
	if s.state == stateClosed {
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	s.own() // the other audiences' maps; then data is the session's own
	s.entry().data = data
}

// dataKey maps a user key to the key under which it is stored: with cookie
// storage, info values live under "@key", so data keys that start with "@"
// are stored as "$@key" (as the reference does); and flash messages live
// under "_flash:key", so data keys that start with "_flash:", after any
// number of "$", get one more "$" ("_flash:x" is stored as "$_flash:x",
// "$_flash:x" as "$$_flash:x"), which keeps every key apart.
func (s *Session) dataKey(key string) string {
	if key == "" {
		return key
	}
	switch key[0] {
	case '@':
		if s.m.store == nil {
			return "$" + key
		}
	case '$', '_':
		if strings.HasPrefix(strings.TrimLeft(key, "$"), flashPrefix) {
			return "$" + key
		}
	}
	return key
}

// Get returns the value of key in the data of the current audience, nil
// when there is none. A value set in this request comes back as it was set;
// a value read from the cookie has the types encoding/json gives an any
// (float64, string, bool, []any, map[string]any), so Set("n", 1) reads back
// as int in this request and as float64 in the next. Every number read
// back is a float64, including those the session keeps as json.Number (see
// Data), and so is a json.Number set in this request; a []any or
// map[string]any holding one is returned as a converted copy. Decode and
// Get[T] read a value the same way in every request, and exactly: use them.
func (s *Session) Get(key string) any {
	if s.state == stateClosed {
		return nil
	}
	v := s.entry().data[s.dataKey(key)]
	if !shareable(v) && s.shared {
		s.own()
		v = s.entry().data[s.dataKey(key)]
	}
	return compatValue(v)
}

// Set sets key to value in the data of the current audience; value must
// be encodable as JSON, and key and the strings in value valid UTF-8 (else
// Save fails with ErrInvalid). A nil value deletes the key. A few keys are
// stored under another name, so that they stay apart from the info store's
// and the flash messages' keys: with cookie storage a key that starts with
// "@" is stored as "$" + key, as the reference does, and a key that starts
// with "_flash:", after any number of "$", is stored as "$" + key.
func (s *Session) Set(key string, value any) {
	if s.state == stateClosed {
		return
	}
	s.own()
	if value == nil {
		delete(s.entry().data, s.dataKey(key))
		return
	}
	s.entry().data[s.dataKey(key)] = value
}

// Audience returns the current audience.
func (s *Session) Audience() string {
	if s.state == stateClosed {
		return ""
	}
	return s.entry().audience
}

// SetAudience renames the current entry's audience. An existing entry of
// that audience is replaced by the current one. An audience that is not
// valid UTF-8 makes Save fail with ErrInvalid.
func (s *Session) SetAudience(audience string) {
	if s.state == stateClosed {
		return
	}
	current := s.entry().audience
	if audience == current {
		return
	}
	s.noteIndexed()
	if s.info != nil {
		if v, ok := s.info[current]; ok {
			s.info[audience] = v
		} else {
			delete(s.info, audience)
		}
		delete(s.info, current)
	}
	previous := -1
	for i := range s.entries {
		if s.entries[i].audience == audience {
			previous = i
			break
		}
	}
	s.entry().audience = audience
	if previous < 0 || previous == s.cur {
		return
	}
	s.entries = append(s.entries[:previous], s.entries[previous+1:]...)
	if previous < s.cur {
		s.cur--
	}
}

// Subject returns the subject of the current audience ("" when unset).
func (s *Session) Subject() string {
	if s.state == stateClosed {
		return ""
	}
	return s.entry().subject
}

// SetSubject sets the subject of the current audience, usually the user's
// id after a sign-in. A subject that is not valid UTF-8 makes Save fail
// with ErrInvalid: it would come back changed, and the session would be
// indexed under another subject.
func (s *Session) SetSubject(subject string) {
	if s.state == stateClosed {
		return
	}
	e := s.entry()
	if e.subject != subject || !e.hasSubject {
		s.noteIndexed()
	}
	e.subject, e.hasSubject = subject, true
}

// noteIndexed keeps the subject index entries of the session's store
// records before an audience or subject changes (see Session.indexed).
func (s *Session) noteIndexed() {
	if s.indexed == nil && s.meta.valid && s.m.store != nil && s.m.storeMetadata {
		if s.indexed = s.metadata(); s.indexed == nil {
			s.indexed = &store.Metadata{}
		}
	}
}

// Audiences returns the audiences of every entry of the session's cookie.
func (s *Session) Audiences() []string {
	out := make([]string, 0, len(s.entries))
	for i := range s.entries {
		out = append(out, s.entries[i].audience)
	}
	return out
}

// Remember reports whether a save also issues the remember cookie.
func (s *Session) Remember() bool {
	if s.state == stateClosed {
		return false
	}
	return s.rememberOn()
}

func (s *Session) rememberOn() bool {
	if s.meta.valid && s.meta.flags&flagForget != 0 || s.flags&flagForget != 0 {
		return false
	}
	return s.remember
}

// SetRemember turns persistent sessions on or off for this session, usually
// from a "remember me" box. Off sets the FORGET flag, so that the remember
// cookie is not issued again for this session.
func (s *Session) SetRemember(remember bool) {
	if s.state == stateClosed {
		return
	}
	if remember {
		s.flags &^= flagForget
	} else {
		s.flags |= flagForget
	}
	s.remember = remember
}

// Close ends the session without touching cookies or the store; every later
// call fails with ErrClosed.
func (s *Session) Close() { s.state = stateClosed }

// bindHash returns SHA-256 of the bind string selected by flags, or nil when
// nothing is bound.
func (s *Session) bindHash(flags uint16) *[32]byte {
	if flags&(flagBindIP|flagBindScheme|flagBindUserAgent) == 0 {
		return nil
	}
	var b strings.Builder
	add := func(v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(v)
	}
	if flags&flagBindIP != 0 {
		add(s.ex.RemoteAddr())
	}
	if flags&flagBindScheme != 0 {
		add(s.ex.Scheme())
	}
	if flags&flagBindUserAgent != 0 {
		add(s.ex.UserAgent())
	}
	if b.Len() == 0 {
		return nil
	}
	sum := sha256.Sum256([]byte(b.String()))
	return &sum
}
