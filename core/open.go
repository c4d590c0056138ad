package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/sessiongo/session/core/store"
)

// Open reads the session from the request's cookie (the reference's
// instance:open). When the session cookie fails and remember is on, the
// session is restored from the remember cookie: a new remember cookie (same
// creation time) and a new session cookie are issued. A nil error means the
// session exists; otherwise the session stays new and usable, and the error
// says why (ErrNotFound, ErrExpired, ErrInvalid, ErrStore). With cookie
// storage and Config.Revocation, a revoked session is ErrNotFound ("session
// revoked"), and with FailClosed a revocation backend that cannot be asked
// is ErrStore. This is the low-level call: Manager.Open and the middleware
// do not report ErrNotFound, ErrExpired and ErrInvalid, which only mean that
// the request has no usable session.
func (s *Session) Open() error {
	if s.state == stateClosed {
		return errClosed("open")
	}
	err, audienceMissing := s.open(false, false)
	if err == nil {
		s.opened(OutcomeOpened, nil)
		return nil
	}
	s.rejected(false, err)
	if audienceMissing || !s.remember {
		s.openFailed(err)
		return err
	}
	if rerr, _ := s.open(true, false); rerr != nil {
		s.rejected(true, rerr)
		if s.m.rev.backend != nil && errors.Is(rerr, ErrStore) {
			s.openFailed(rerr)
			return rerr // FailClosed: the remember cookie could not be checked
		}
		if err == errMissingCookie {
			s.openFailed(rerr) // the outcome is the remember cookie's
		} else {
			s.openFailed(err)
		}
		return err
	}
	if serr := s.save(stateNew, true); serr != nil {
		s.openFailed(serr)
		return serr
	}
	s.meta = meta{}
	if serr := s.save(stateOpen, false); serr != nil {
		s.openFailed(serr)
		return serr
	}
	s.opened(OutcomeRestored, nil)
	return nil
}

// openFailed runs OnOpen for an Open that failed with err.
func (s *Session) openFailed(err error) {
	if s.m.hooks.OnOpen == nil {
		return
	}
	o := outcomeOf(err)
	if o == OutcomeNone {
		err = nil
	}
	s.opened(o, err)
}

// open reads one cookie. It reports whether the only problem was a missing
// audience (the other entries are then kept, so that a save adds this
// audience to the same cookie).
func (s *Session) open(remember, metaOnly bool) (err error, audienceMissing bool) {
	m := s.m
	now := m.now()
	name := m.cookieName
	if remember {
		name = m.rememberName
	}
	cookie, ok := s.requestCookie(remember, 1)
	if !ok {
		return errMissingCookie, false
	}
	var md meta
	if err := decodeHeader(cookie, &md.raw, &md.header); err != nil {
		return err, false
	}
	if (md.flags&flagStorage != 0) != (m.store != nil) {
		return errInvalidFlags, false
	}

	// Timeouts come before the MAC (the reference's order): an expired
	// cookie reports its timeout even when it was tampered with.
	absoluteElapsed := now - md.creationTime
	if absoluteElapsed > maxRollingOffset {
		return errLifetime, false
	}
	rollingElapsed := absoluteElapsed - md.rollingOffset
	if remember {
		if m.rememberAbsolute != 0 && absoluteElapsed > m.rememberAbsolute {
			return errRememberAbs, false
		}
		if m.rememberRolling != 0 && rollingElapsed > m.rememberRolling {
			return errRememberRolling, false
		}
		if md.idlingOffset != 0 {
			return errInvalidIdling, false
		}
	} else {
		if m.absolute != 0 && absoluteElapsed > m.absolute {
			return errAbsolute, false
		}
		if m.rolling != 0 && rollingElapsed > m.rolling {
			return errRolling, false
		}
		if m.idling != 0 && rollingElapsed-md.idlingOffset > m.idling {
			return errIdling, false
		}
	}

	if md.flags&macBindFlags == 0 {
		// A header that a key verified (or issued) before, byte for byte,
		// verifies again with that key (see openCache.verified).
		md.key = m.openCache.verified(remember, &md.raw)
	}
	if md.key == nil {
		bind := s.bindHash(md.flags)
		for _, k := range m.keys {
			mac := k.mac(md.sid[:], md.raw[:headerMACSize], bind)
			if equalMAC(mac[:], md.mac[:]) {
				md.key = k
				break
			}
		}
	}
	if md.key == nil {
		return errInvalidMAC, false
	}

	var payload string
	var info map[string]map[string]any
	if m.store != nil {
		key := m.storageKey(md.sid[:])
		ctx, done := m.storeCall(s.ex.Context(), StoreGet, kindOf(remember))
		record, err := m.store.Get(ctx, name, key, store.GetOptions{Now: time.Unix(now, 0)})
		if done != nil || err != nil {
			m.storeDone(ctx, done, StoreGet, kindOf(remember), err)
		}
		if err != nil {
			return storeError("unable to load session", err), false
		}
		rec, err := decodeRecord(record)
		if err != nil {
			return wrapError(ErrInvalid, "unable to json decode session", err), false
		}
		payload = rec[0]
		md.ciphertext = payload
		if len(rec) > 1 && rec[1] != "" {
			if info, err = decodeInfo(rec[1]); err != nil {
				return err, false
			}
		}
	} else {
		chunks, err := chunkCount(len(name), md.dataSize)
		if err != nil {
			// A header that claims more chunks than a cookie can have is an
			// invalid cookie, not a session that is too large to save.
			return errPayloadChunks, false
		}
		if chunks == 1 {
			// The reference takes the last data-size characters.
			if len(cookie) < md.dataSize {
				return errInvalidPayload, false
			}
			payload = cookie[len(cookie)-md.dataSize:]
			md.initialChunk = payload
		} else {
			md.initialChunk = cookie[headerEncodedSize:]
			var b strings.Builder
			b.Grow(md.dataSize)
			b.WriteString(md.initialChunk)
			for i := 2; i <= chunks; i++ {
				chunk, ok := s.requestCookie(remember, i)
				if !ok {
					return errMissingChunk, false
				}
				b.WriteString(chunk)
			}
			payload = b.String()
		}
	}
	if len(payload) != md.dataSize {
		return errInvalidPayload, false
	}

	md.valid = true
	md.timestamp = now
	if remember {
		s.rmeta = md
	} else {
		s.meta = md
	}
	s.noteRequestCookie(remember, &md)
	if metaOnly {
		return nil, false
	}

	plain, err := s.decrypt(&md, remember, payload)
	if err != nil {
		return err, false
	}
	defer plain.bufs.release()
	var entries []entry
	shared := plain.kept != nil // the open cache's entries, decoded before
	if shared {
		entries = plain.kept.entries
	} else if entries, err = decodeEntries(plain.text); err != nil {
		return wrapError(ErrInvalid, "unable to json decode session data", err), false
	}

	audience := s.entry().audience
	cur := -1
	for i := range entries {
		if entries[i].audience == audience {
			cur = i
			break
		}
	}
	var lookup revLookup
	var buf [4]revKey
	if m.rev.backend != nil {
		var e *entry
		if cur >= 0 {
			e = &entries[cur]
		}
		lookup = lookupOf(buf[:0], &md, e)
		if shared && slices.Equal(plain.kept.rev.keys, lookup.keys) {
			lookup.hashed = plain.kept.rev.hashed
		}
	}
	if plain.keep {
		m.openCache.keep(md.key, remember, &md.raw, payload, entries, lookup)
	}

	if m.store != nil {
		if info != nil && info[audience] == nil && s.info != nil && s.info[audience] != nil {
			info[audience] = s.info[audience]
		}
		s.info = info
	}
	// Without an entry for the audience, the other audiences' entries are
	// kept for a save, unless the cookie itself was revoked.
	if err := s.checkRevoked(remember, &md, lookup); err != nil {
		return err, false
	}
	if cur >= 0 {
		s.state = stateOpen
		if shared {
			s.borrowEntries(entries, nil)
		} else {
			s.entries, s.shared = entries, false
		}
		s.cur = cur
		return nil, false
	}
	if shared {
		s.borrowEntries(entries, s.entry())
	} else {
		s.entries, s.shared = append(entries, *s.entry()), false
	}
	s.cur = len(s.entries) - 1
	s.state = stateNew
	return errMissingAudience, true
}

// plainBuffers are the pooled buffers a plaintext lives in.
type plainBuffers struct {
	buf      *bytes.Buffer
	inflated *[]byte
	out      []byte // what inflated holds
}

// release gives the buffers back; the plaintext must not be used after.
func (p plainBuffers) release() {
	if p.buf != nil {
		putBuf(p.buf)
	}
	if p.inflated != nil {
		releaseInflated(p.inflated, p.out)
	}
}

// opened is what decrypt found: the plaintext, or what the open cache kept
// of the cookie (shared, never changed).
type opened struct {
	text []byte
	kept *keptOpen
	keep bool // the open cache wants the entries decoded from text
	bufs plainBuffers
}

// decrypt returns the plaintext of the cookie md (verified, its payload
// read): from the open cache, or decoded, decrypted and inflated, and then
// cached.
func (s *Session) decrypt(md *meta, remember bool, payload string) (opened, error) {
	m := s.m
	if m.openCache != nil {
		bp := inflateBufs.Get().(*[]byte)
		if p, kept, keep, ok := m.openCache.get((*bp)[:0], md.key, remember, &md.raw, payload); ok {
			if kept != nil {
				inflateBufs.Put(bp)
				return opened{kept: kept}, nil
			}
			return opened{text: p, keep: keep, bufs: plainBuffers{inflated: bp, out: p}}, nil
		}
		inflateBufs.Put(bp)
	}
	buf := getBuf()
	plaintext, err := decryptInto(buf, md, remember, payload, m)
	if err != nil {
		putBuf(buf)
		return opened{}, err
	}
	bufs := plainBuffers{buf: buf}
	if md.flags&flagDeflate != 0 {
		limit := maxCookieInflatedSize
		if m.store != nil {
			limit = maxStoreInflatedSize
		}
		inflated, ibuf, err := inflateTemp(plaintext, limit)
		putBuf(buf)
		if err != nil {
			return opened{}, wrapError(ErrInvalid, "unable to inflate session data", err)
		}
		plaintext, bufs = inflated, plainBuffers{inflated: ibuf, out: inflated}
	}
	m.openCache.put(md.key, remember, &md.raw, payload, plaintext)
	return opened{text: plaintext, bufs: bufs}, nil
}

// decryptInto decodes and decrypts the payload of the cookie md in buf.
func decryptInto(buf *bytes.Buffer, md *meta, remember bool, payload string, m *Manager) ([]byte, error) {
	// The base64 input, then the ciphertext and tag after it, then a copy
	// of the additional data (so that md, which open keeps on its stack,
	// is not handed to the AEAD interface).
	buf.WriteString(payload)
	buf.Grow(b64.DecodedLen(len(payload)) + tagSize + headerAADSize)
	encodedPayload := buf.Bytes()
	ciphertext := buf.AvailableBuffer()[:b64.DecodedLen(len(payload))]
	n, err := b64.Decode(ciphertext, encodedPayload)
	if err != nil {
		return nil, wrapError(ErrInvalid, "unable to base64url decode session data", err)
	}
	ciphertext = append(ciphertext[:n], md.tag[:]...)
	aad := append(ciphertext[len(ciphertext):len(ciphertext):cap(ciphertext)], md.raw[:headerAADSize]...)
	iterations := 0
	if remember {
		iterations = m.rememberIterations
	}
	keyIV, err := md.key.encryptionKey(md.sid[:], iterations)
	if err != nil {
		return nil, wrapError(ErrInvalid, "unable to derive session decryption key", err)
	}
	plaintext, err := open(&keyIV, ciphertext, aad)
	if err != nil {
		return nil, wrapError(ErrInvalid, "unable to decrypt session data", err)
	}
	return plaintext, nil
}

// decodeRecord parses a store record: ["ciphertext", "info"?].
func decodeRecord(record []byte) ([]string, error) {
	v, err := parseJSON(record)
	if err != nil {
		return nil, err
	}
	fields, ok := v.([]any)
	if !ok || len(fields) == 0 || len(fields) > 2 {
		return nil, errBadEntry
	}
	rec := make([]string, 0, 2)
	for _, f := range fields {
		switch f := f.(type) {
		case string:
			rec = append(rec, f)
		case nil:
			rec = append(rec, "")
		default:
			return nil, errBadEntry
		}
	}
	return rec, nil
}

func decodeInfo(encoded string) (map[string]map[string]any, error) {
	raw, err := b64.DecodeString(encoded)
	if err != nil {
		return nil, wrapError(ErrInvalid, "unable to base64url decode session info", err)
	}
	var info map[string]map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&info); err != nil {
		return nil, wrapError(ErrInvalid, "unable to json decode session info", err)
	}
	return info, nil
}
