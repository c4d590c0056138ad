package session

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"time"

	"github.com/sessiongo/session/core/store"
)

// Save stores the session and sends a new session cookie with a new session
// id (the reference's instance:save). With remember on it also issues a new
// remember cookie, keeping the creation time of a valid one that came with
// the request. A failure to issue the remember cookie is logged, not
// returned, as in the reference.
func (s *Session) Save() error {
	if s.state == stateClosed {
		return errClosed("save")
	}
	if err := s.save(stateOpen, false); err != nil {
		return err
	}
	s.saveRemember()
	return nil
}

// saveRemember re-issues the remember cookie when remember is on.
func (s *Session) saveRemember() {
	if !s.rememberOn() {
		return
	}
	if !s.rmeta.valid && !s.renewed {
		s.open(true, true) //nolint:errcheck // a missing remember cookie just starts a new one
		s.checkRememberCreation()
	}
	if err := s.save(stateNew, true); err != nil {
		s.m.logger.WarnContext(s.ex.Context(), "session: unable to save remember cookie", "err", err)
	}
}

// save writes one cookie (and the store record); next is the state of the
// session after a save of the session cookie.
func (s *Session) save(next state, remember bool) error {
	m := s.m
	name, md := m.cookieName, &s.meta
	if remember {
		name, md = m.rememberName, &s.rmeta
	}

	flags := s.flags &^ (flagStorage | flagDeflate)
	if m.store != nil {
		flags |= flagStorage
	}
	if md.valid && md.flags&flagForget != 0 {
		flags |= flagForget
	}

	var h header
	h.flags = flags
	if _, err := io.ReadFull(m.rand, h.sid[:]); err != nil {
		return wrapError(ErrInvalid, "unable to generate session id", err)
	}
	now := m.now()
	if md.valid {
		h.creationTime = md.creationTime
		h.rollingOffset = now - h.creationTime
		if h.rollingOffset > maxRollingOffset {
			return newError(ErrExpired, "session maximum rolling offset exceeded")
		}
		if h.rollingOffset < 0 { // the clock went back
			h.rollingOffset = 0
		}
	} else {
		h.creationTime = now
	}
	if h.creationTime > maxCreationTime || h.creationTime < 0 {
		return newError(ErrInvalid, "session maximum creation time exceeded")
	}

	// Logout saves the remaining entries as they were (next == stateClosed
	// for the session cookie, and the session is closed when its remember
	// cookie follows). Other remember saves filter too: a restore from the
	// remember cookie saves it before the session cookie.
	if m.enforceSameSubject && len(s.entries) > 1 && next != stateClosed && s.state != stateClosed {
		s.dropOtherSubjects()
	}

	plain := getBuf()
	defer putBuf(plain)
	if err := encodeEntries(plain, s.entries); err != nil {
		return wrapError(ErrInvalid, "unable to json encode session data", err)
	}
	data := plain.Bytes()
	if m.compressionThreshold != 0 && len(data) > m.compressionThreshold {
		deflated := getBuf()
		defer putBuf(deflated)
		fit := -1
		if m.store == nil {
			fit = cookieDeflateLimit(len(name))
		}
		if err := deflate(deflated, data, fit); err == nil && deflated.Len() < len(data) {
			h.flags |= flagDeflate
			data = deflated.Bytes()
		}
	}
	h.dataSize = b64.EncodedLen(len(data))

	chunks := 1
	if m.store != nil {
		if h.dataSize > maxDataSize {
			return errDataTooLarge
		}
	} else {
		var err error
		if chunks, err = chunkCount(len(name), h.dataSize); err != nil {
			return err
		}
	}

	var raw [headerSize]byte
	h.marshal(&raw)
	iterations := 0
	if remember {
		iterations = m.rememberIterations
	}
	key := m.keys[0]
	keyIV, err := key.encryptionKey(h.sid[:], iterations)
	if err != nil {
		return wrapError(ErrInvalid, "unable to derive session encryption key", err)
	}
	sealed := getBuf()
	defer putBuf(sealed)
	sealed.Grow(len(data) + tagSize)
	ciphertext, tag, err := seal(&keyIV, sealed.AvailableBuffer(), data, raw[:headerAADSize])
	if err != nil {
		return wrapError(ErrInvalid, "unable to encrypt session data", err)
	}
	h.tag = tag
	h.marshal(&raw)
	h.mac = key.mac(h.sid[:], raw[:headerMACSize], s.bindHash(h.flags))
	copy(raw[headerMACSize:], h.mac[:])

	var encodedHeader [headerEncodedSize]byte
	b64.Encode(encodedHeader[:], raw[:])
	payload := b64.EncodeToString(ciphertext)
	if md.valid {
		// A returning client's next request brings this cookie: its open
		// needs no decrypting. (A new session's may never come back.)
		m.openCache.put(key, remember, &raw, payload, plain.Bytes())
	}

	extra := ""
	if remember {
		maxAge := m.rememberRolling
		if maxAge == 0 || maxAge > maxTTL {
			maxAge = maxTTL
		}
		extra = rememberAttrs(h.creationTime, maxAge)
	}

	var initialChunk, storedCiphertext string
	size := len(name) + 1 + headerEncodedSize // name=value bytes, every chunk (Event.Size)
	if m.store != nil {
		storedCiphertext = payload
		if err := s.storeRecord(name, h, md, remember, payload, now, next == stateClosed || s.state == stateClosed); err != nil {
			return err
		}
		s.ex.SetCookie(name, cookieLine(name, m.attrs, extra, string(encodedHeader[:])))
	} else if chunks == 1 {
		initialChunk = payload
		size += len(payload)
		s.ex.SetCookie(name, cookieLine(name, m.attrs, extra, string(encodedHeader[:]), payload))
	} else {
		first := maxCookieSize - headerEncodedSize - len(name) - 1
		initialChunk = payload[:first]
		s.ex.SetCookie(name, cookieLine(name, m.attrs, extra, string(encodedHeader[:]), initialChunk))
		size += len(initialChunk)
		rest := payload[first:]
		for i := 2; i <= chunks; i++ {
			n := min(maxCookieSize-len(name)-2, len(rest))
			cn := chunkName(name, i)
			s.ex.SetCookie(cn, cookieLine(cn, m.attrs, extra, rest[:n]))
			size += len(cn) + 1 + n
			rest = rest[n:]
		}
	}
	if m.store == nil && md.valid {
		// Expire the chunks the previous cookie had and this one has not.
		if old, err := chunkCount(len(name), md.dataSize); err == nil {
			for i := chunks + 1; i <= old; i++ {
				cn := chunkName(name, i)
				s.ex.SetCookie(cn, cookieLine(cn, m.attrs, expiredAttrs))
			}
		}
	}

	if m.hooks.OnCreate != nil || m.hooks.OnRotate != nil {
		s.savedCookie(remember, md, &h.sid, size)
	}
	*md = meta{
		valid:        true,
		timestamp:    now,
		header:       h,
		raw:          raw,
		key:          key,
		initialChunk: initialChunk,
		ciphertext:   storedCiphertext,
	}
	if !remember {
		s.state = next
		s.indexed = nil // the record is indexed as the entries are now
	}
	return nil
}

// dropOtherSubjects removes the entries whose subject differs from the
// current one; the current entry stays current.
func (s *Session) dropOtherSubjects() {
	cur := s.entries[s.cur]
	kept := s.entries[:0]
	for i, e := range s.entries {
		if e.subject == cur.subject && e.hasSubject == cur.hasSubject {
			if i == s.cur {
				s.cur = len(kept)
			}
			kept = append(kept, e)
		}
	}
	s.entries = kept
}

// storeRecord writes the server-side record of a save.
// logout is set for the saves of a logout of one audience.
func (s *Session) storeRecord(name string, h header, md *meta, remember bool, payload string, now int64, logout bool) error {
	m := s.m
	record := getBuf()
	defer putBuf(record)
	if err := s.appendRecord(record, payload); err != nil {
		return err
	}
	opts := store.SetOptions{
		TTL:       time.Duration(m.storeTTL(remember, now, h.creationTime, h.rollingOffset)) * time.Second,
		Now:       time.Unix(now, 0),
		StaleTTL:  time.Duration(m.staleTTL) * time.Second,
		Metadata:  s.metadata(),
		Anonymous: !s.hasSubject(),
	}
	if !opts.Anonymous {
		// Devices: when the browser was last seen, and its facts, in the
		// same write (a store without GroupInfoReader ignores them).
		opts.Seen, opts.Facts = opts.Now, s.facts
	}
	if logout {
		// A logout of one audience: the previous record still holds that
		// audience, so it must not stay readable.
		opts.StaleTTL = 0
	}
	if md.valid {
		opts.OldKey = m.storageKey(md.sid[:])
	}
	// The session and remember records of one browser form one group in
	// the store, so that deleting either ends both.
	if other := s.otherMeta(remember); other.valid {
		opts.Partner = store.RecordKey{Name: m.otherName(remember), Key: m.storageKey(other.sid[:])}
	}
	capped, atomic := m.limitLogin(remember, &opts)
	if capped && atomic {
		opts.Limit, opts.LimitRefuse = m.limit, m.limitRefuse
	} else if capped && m.limitRefuse {
		if err := s.checkLimit(s.ex.Context()); err != nil {
			return err
		}
	}
	value := bytes.Clone(record.Bytes())
	key := m.storageKey(h.sid[:])
	ctx, done := m.storeCall(s.ex.Context(), StoreSet, kindOf(remember))
	err := m.store.Set(ctx, name, key, value, opts)
	if done != nil || err != nil {
		m.storeDone(ctx, done, StoreSet, kindOf(remember), err)
	}
	if err != nil {
		if lerr := limitError(err); lerr != nil {
			return lerr
		}
		return storeError("unable to store session data", err)
	}
	if capped && !atomic && !m.limitRefuse {
		// The login is saved: a failure here leaves one session too many
		// until the next login, which the login need not fail for.
		if err := s.enforceLimit(s.ex.Context(), key); err != nil {
			m.logger.WarnContext(s.ex.Context(), "session: unable to end sessions over MaxSessionsPerSubject", "err", err)
		}
	}
	return nil
}

// storeError wraps an error of the store: a missing record (the session was
// destroyed, revoked or has expired since it was opened) matches
// ErrNotFound, anything else ErrStore.
func storeError(msg string, err error) error {
	if errors.Is(err, ErrNotFound) {
		return wrapError(ErrNotFound, msg, err)
	}
	return wrapError(ErrStore, msg, err)
}

// otherMeta returns the metadata of the other cookie: the remember cookie's
// for the session cookie, and the other way round.
func (s *Session) otherMeta(remember bool) *meta {
	if remember {
		return &s.meta
	}
	return &s.rmeta
}

// otherName returns the name of the other cookie.
func (m *Manager) otherName(remember bool) string {
	if remember {
		return m.cookieName
	}
	return m.rememberName
}

// appendRecord appends the JSON record [ciphertext, info?] to b.
func (s *Session) appendRecord(b *bytes.Buffer, payload string) error {
	b.WriteString(`["`)
	b.WriteString(payload)
	b.WriteByte('"')
	if len(s.info) > 0 {
		encoded, err := encodeInfo(s.info)
		if err != nil {
			return err
		}
		b.WriteString(`,"`)
		b.WriteString(encoded)
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return nil
}

// storeTTL is how long a record lives: what is left of the rolling and the
// absolute timeout, the smaller, at least 1 second and at most 400 days.
func (m *Manager) storeTTL(remember bool, now, creation, rollingOffset int64) int64 {
	rolling, absolute := m.rolling, m.absolute
	if remember {
		rolling, absolute = m.rememberRolling, m.rememberAbsolute
	}
	ttl := int64(maxTTL)
	if rolling > 0 && rolling < maxTTL {
		ttl = rolling - (now - creation - rollingOffset)
	}
	if absolute > 0 && absolute < maxTTL {
		ttl = min(ttl, absolute-(now-creation))
	}
	return max(min(ttl, maxTTL), 1)
}

// storageKey is the store key of a session id: base64url of the id, or of
// its SHA-256 with HashStorageKey.
func (m *Manager) storageKey(sid []byte) string {
	if m.hashStorageKey {
		sum := sha256.Sum256(sid)
		return b64.EncodeToString(sum[:])
	}
	return b64.EncodeToString(sid)
}

// encodeSubject returns a subject as the subject index stores it: base64url,
// of the first 16 bytes of its SHA-256 with HashSubject.
func (m *Manager) encodeSubject(subject string) string {
	if m.hashSubject {
		sum := sha256.Sum256([]byte(subject))
		return b64.EncodeToString(sum[:16])
	}
	return b64.EncodeToString([]byte(subject))
}

// encodeAudience returns an audience as the subject index stores it.
func (m *Manager) encodeAudience(audience string) string {
	return b64.EncodeToString([]byte(audience))
}

// hasSubject reports whether an entry of the session has a subject.
func (s *Session) hasSubject() bool {
	for i := range s.entries {
		if s.entries[i].hasSubject {
			return true
		}
	}
	return false
}

// metadata returns the subject index entries of the session: one per entry
// that has a subject, when StoreMetadata is on.
func (s *Session) metadata() *store.Metadata {
	if !s.m.storeMetadata {
		return nil
	}
	var md *store.Metadata
	for i := range s.entries {
		e := &s.entries[i]
		if !e.hasSubject {
			continue
		}
		if md == nil {
			md = &store.Metadata{}
		}
		md.Audiences = append(md.Audiences, s.m.encodeAudience(e.audience))
		md.Subjects = append(md.Subjects, s.m.encodeSubject(e.subject))
	}
	return md
}

// Touch re-sends the session cookie with a new idling offset and MAC,
// keeping its id, data and store record (the reference's instance:touch).
// It uses the key that verified the cookie, which may be a fallback key, as
// the reference does; Refresh calls it when needed, but saves instead when
// the key was a fallback.
func (s *Session) Touch() error {
	switch s.state {
	case stateClosed:
		return errClosed("touch")
	case stateNew:
		return errNonexistent("touch")
	}
	m, md := s.m, &s.meta
	idling := min(max(m.now()-md.creationTime-md.rollingOffset, 0), maxIdlingOffset)
	md.idlingOffset = idling
	put24(md.raw[headerTouchSize:headerMACSize], uint32(idling))
	md.mac = md.key.mac(md.sid[:], md.raw[:headerMACSize], s.bindHash(md.flags))
	copy(md.raw[headerMACSize:], md.mac[:])
	var encodedHeader [headerEncodedSize]byte
	b64.Encode(encodedHeader[:], md.raw[:])
	s.ex.SetCookie(m.cookieName, cookieLine(m.cookieName, m.attrs, "", string(encodedHeader[:]), md.initialChunk))
	return nil
}

// Refresh saves the session (new id) when more than 3/4 of the rolling
// timeout has passed since the last save, or else touches it when it has
// been idle for more than the touch threshold; otherwise it does nothing
// (the reference's instance:refresh).
//
// Unlike the reference, a session whose cookie was verified with a fallback
// key (SecretFallbacks, IKMFallbacks) is always saved, and so moved to the
// current key: a touch would re-sign it with the old key, and a rotated-out
// secret would keep an active session alive forever.
func (s *Session) Refresh() error {
	switch s.state {
	case stateClosed:
		return errClosed("refresh")
	case stateNew:
		return errNonexistent("refresh")
	}
	m, md := s.m, &s.meta
	if md.key != nil && md.key != m.keys[0] {
		return s.save(stateOpen, false)
	}
	if m.rolling == 0 && m.idling == 0 {
		return nil
	}
	rollingElapsed := md.timestamp - md.creationTime - md.rollingOffset
	if m.rolling > 0 && rollingElapsed > (3*m.rolling+3)/4 { // ceil(0.75 * rolling)
		return s.save(stateOpen, false)
	}
	if m.idling > 0 && rollingElapsed-md.idlingOffset > m.touchThreshold {
		return s.Touch()
	}
	return nil
}

// Start opens the session and refreshes it as needed (the reference's
// session.start). An error from Open is returned as it is, saying why the
// request has no usable session (ErrNotFound, ErrExpired, ErrInvalid) or
// that the store failed: s.Exists() is then false. An error from Refresh
// is returned with s.Exists() true. Manager.Start and the middleware do
// not report a request without a usable session as an error.
func (s *Session) Start() error {
	if err := s.Open(); err != nil {
		return err
	}
	return s.Refresh()
}

// Logout logs the session out of the current audience: the entry (and its
// info) is removed and the cookie saved for the other audiences, or, when it
// was the only audience, the session is destroyed. The session is closed
// afterwards.
func (s *Session) Logout() error {
	switch s.state {
	case stateClosed:
		return errClosed("logout")
	case stateNew:
		return errNonexistent("logout")
	}
	audience := s.entry().audience
	if len(s.entries) == 1 {
		md := s.meta
		err := s.Destroy()
		if s.state == stateClosed {
			s.ended(s.m.hooks.OnLogout, "OnLogout", audience, &md)
		}
		return err
	}
	if s.info != nil {
		delete(s.info, audience)
	}
	md := s.meta
	s.entries = append(s.entries[:s.cur], s.entries[s.cur+1:]...)
	s.cur = 0
	if err := s.save(stateClosed, false); err != nil {
		return err
	}
	s.saveRemember()
	s.ended(s.m.hooks.OnLogout, "OnLogout", audience, &md)
	return nil
}

// Destroy deletes the session: its cookies (every chunk) are expired, its
// store record deleted, and the remember cookie too when remember is on or
// the request carries one (a remember cookie from an earlier login must not
// restore the session). The session is closed afterwards.
//
// With cookie storage and Config.Revocation, Destroy then revokes the ids of
// the session and remember cookies the request came with and those this
// request issued, so that copies of them no longer open. If that fails, the
// cookies are expired all the same; the error, matching ErrStore, is
// returned with FailClosed and logged with FailOpen.
func (s *Session) Destroy() error {
	switch s.state {
	case stateClosed:
		return errClosed("destroy")
	case stateNew:
		return errNonexistent("destroy")
	}
	// The remember cookie goes too when the browser still has one, even if
	// this session turned remember off since it was issued: it would
	// restore the session on the next request.
	remember := s.rememberOn() || s.rmeta.valid
	if !remember {
		_, remember = s.requestCookie(true, 1)
	}
	if err := s.destroy(false); err != nil {
		return err
	}
	err := s.destroyRemember(remember)
	s.ended(s.m.hooks.OnDestroy, "OnDestroy", s.entry().audience, &s.meta)
	return err
}

// destroyRemember ends Destroy once the session cookie is gone: the
// remember cookie when there is one, then the revocation marks.
func (s *Session) destroyRemember(remember bool) error {
	if remember {
		if !s.rmeta.valid {
			if err, _ := s.open(true, true); err != nil && !s.staleRememberCookie(err) {
				s.state = stateClosed
				return s.revokeDestroyed()
			}
		}
		if err := s.destroy(true); err != nil {
			return err
		}
	}
	s.state = stateClosed
	return s.revokeDestroyed()
}

// staleRememberCookie reports whether the remember cookie failed to open
// only because its store record is gone: deleting the session deletes the
// remember record of its group too, and the cookie is then expired all the
// same.
func (s *Session) staleRememberCookie(err error) bool {
	return s.m.store != nil && err != errMissingCookie && errors.Is(err, ErrNotFound)
}

func (s *Session) destroy(remember bool) error {
	m := s.m
	name, md := m.cookieName, &s.meta
	if remember {
		name, md = m.rememberName, &s.rmeta
	}
	chunks := 1
	if m.store == nil && md.valid {
		var err error
		if chunks, err = chunkCount(len(name), md.dataSize); err != nil {
			return err
		}
	}
	if m.store != nil && md.valid {
		ctx, done := m.storeCall(s.ex.Context(), StoreDelete, kindOf(remember))
		err := m.store.Delete(ctx, name, m.storageKey(md.sid[:]), store.DeleteOptions{
			Now:      time.Unix(md.timestamp, 0),
			Metadata: s.metadata(),
		})
		if done != nil || err != nil {
			m.storeDone(ctx, done, StoreDelete, kindOf(remember), err)
		}
		if err != nil {
			return wrapError(ErrStore, "unable to destroy session", err)
		}
	}
	for i := 1; i <= chunks; i++ {
		cn := chunkName(name, i)
		s.ex.SetCookie(cn, cookieLine(cn, m.attrs, expiredAttrs))
	}
	if !remember {
		s.state = stateClosed
	}
	return nil
}

// ClearRequestCookie removes the session cookie, its chunks and (with
// remember) the remember cookie from the request's Cookie header, keeping
// every other cookie, and removes the header when nothing is left. Use it
// on a proxy that must not forward session cookies upstream.
func (s *Session) ClearRequestCookie() error {
	switch s.state {
	case stateClosed:
		return errClosed("clear session request cookie on")
	case stateNew:
		return errNonexistent("clear session request cookie on")
	}
	cookies := s.requestCookies()
	if cookies == "" {
		return nil
	}
	m := s.m
	chunks := 1
	if m.store == nil {
		if n, err := chunkCount(len(m.cookieName), s.meta.dataSize); err == nil {
			chunks = n
		}
	}
	cookies = stripCookies(cookies, m.cookieName, chunks)
	if s.rememberOn() {
		chunks = 1
		if m.store == nil {
			size := s.meta.dataSize
			if s.rmeta.valid {
				size = s.rmeta.dataSize
			}
			if n, err := chunkCount(len(m.rememberName), size); err == nil {
				chunks = n
			}
		}
		cookies = stripCookies(cookies, m.rememberName, chunks)
	}
	s.cookies, s.jarLoaded = cookies, false
	if cookies == "" {
		s.ex.DelRequestHeader("Cookie")
	} else {
		s.ex.SetRequestHeader("Cookie", cookies)
	}
	return nil
}
