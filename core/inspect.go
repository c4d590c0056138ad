package session

import (
	"errors"
	"strconv"
	"time"
)

// Inspection API: read access to the header fields of a cookie, for tools
// that show operators what a cookie holds and why it is rejected (such as
// cmd/sessionctl). Nothing here is needed to use sessions.

// Header is the decoded header of a session or remember cookie:
// the 82 bytes that open every cookie value, and that are the whole cookie
// with a server-side store.
type Header struct {
	// Flags is the header's flag word; FlagNames spells it out.
	Flags uint16
	// SessionID is the session id as 43 base64url characters.
	SessionID string
	// CreationTime is when the session (or remember cookie) was created.
	CreationTime time.Time
	// RollingOffset is the time from creation to the last save.
	RollingOffset time.Duration
	// IdlingOffset is the time from the last save to the last touch.
	IdlingOffset time.Duration
	// DataSize is the length of the ciphertext in base64url characters.
	DataSize int
	// Tag is the AES-256-GCM authentication tag of the data.
	Tag [16]byte
	// MAC is the HMAC-SHA256 (truncated to 16 bytes) over the header.
	MAC [16]byte
	// Key is the index of the key that authenticated the header: 0 for
	// Config.Secret or Config.IKM, then 1, 2... for the fallback keys in
	// order: Config.IKMFallbacks or, when that is empty,
	// Config.SecretFallbacks (never both: see Config.SecretFallbacks). It
	// is -1 for a header that was not authenticated (ParseHeader).
	Key int
}

// Names of the header flags, as FlagNames reports them.
var flagNames = [...]struct {
	flag uint16
	name string
}{
	{flagStorage, "storage"},
	{flagForget, "forget"},
	{flagDeflate, "deflate"},
	{flagBindIP, "bind-ip"},
	{flagBindScheme, "bind-scheme"},
	{flagBindUserAgent, "bind-user-agent"},
}

// FlagNames returns the names of the flags set in h.Flags, lowest bit
// first: "storage" (the data is in a server-side store), "forget" (remember
// was turned off for this session), "deflate" (the data is compressed),
// "bind-ip", "bind-scheme" and "bind-user-agent" (the MAC covers these
// request properties). A bit this library does not know is named by its
// value in hex, as "0x0080". The result is never nil.
func (h Header) FlagNames() []string {
	names := []string{}
	for bit := uint16(1); bit != 0; bit <<= 1 {
		if h.Flags&bit == 0 {
			continue
		}
		name := ""
		for _, f := range flagNames {
			if f.flag == bit {
				name = f.name
			}
		}
		if name == "" {
			s := strconv.FormatUint(uint64(bit), 16)
			name = "0x" + "0000"[len(s):] + s
		}
		names = append(names, name)
	}
	return names
}

// Chunks returns how many cookies a cookie called name (with its prefix)
// with this header is split into under cookie storage: 1 up to 4096 bytes,
// up to 9 for larger sessions. An impossible data size is an error matching
// ErrTooLarge.
func (h Header) Chunks(name string) (int, error) { return chunkCount(len(name), h.DataSize) }

// ParseHeader decodes the header at the start of a cookie value (the value
// of the session or remember cookie, or its first chunk) WITHOUT
// authenticating it: use it to show what a cookie claims, for example why
// it fails to open, never to trust it. Key is -1 in the result. A value
// that is too short, not base64url or not of the known cookie type is an
// error matching ErrInvalid, with the reference library's message.
func ParseHeader(value string) (Header, error) {
	var raw [headerSize]byte
	var h header
	if err := decodeHeader(value, &raw, &h); err != nil {
		return Header{}, err
	}
	return exportHeader(&h, -1), nil
}

func exportHeader(h *header, key int) Header {
	return Header{
		Flags:         h.flags,
		SessionID:     b64.EncodeToString(h.sid[:]),
		CreationTime:  time.Unix(h.creationTime, 0),
		RollingOffset: time.Duration(h.rollingOffset) * time.Second,
		IdlingOffset:  time.Duration(h.idlingOffset) * time.Second,
		DataSize:      h.dataSize,
		Tag:           h.tag,
		MAC:           h.mac,
		Key:           key,
	}
}

// headerOf returns the authenticated header of md.
func (s *Session) headerOf(md *meta) (Header, bool) {
	if !md.valid || s.state == stateClosed {
		return Header{}, false
	}
	key := -1
	for i, k := range s.m.keys {
		if k == md.key {
			key = i
			break
		}
	}
	return exportHeader(&md.header, key), true
}

// Header returns the authenticated header of the session cookie the
// session was opened from, or of the one it last sent (after a save, touch
// or restore from the remember cookie). ok is false before the session was
// opened or saved, and after it was closed.
func (s *Session) Header() (h Header, ok bool) { return s.headerOf(&s.meta) }

// RememberHeader returns the authenticated header of the remember cookie,
// when this request read (a restore, a save with remember on) or sent one;
// ok is false otherwise.
func (s *Session) RememberHeader() (h Header, ok bool) { return s.headerOf(&s.rmeta) }

// StorageKey returns the key under which a server-side store keeps the
// record of a session id given as 43 base64url characters
// (Header.SessionID, Session.ID): the id itself, or its SHA-256 in
// base64url with Config.HashStorageKey. A malformed id is an error matching
// ErrInvalid.
func (m *Manager) StorageKey(sessionID string) (string, error) {
	sid, err := b64.DecodeString(sessionID)
	if err != nil || len(sid) != sidSize {
		if err == nil {
			err = errors.New("not " + strconv.Itoa(sidSize) + " bytes")
		}
		return "", wrapError(ErrInvalid, "invalid session id", err)
	}
	return m.storageKey(sid), nil
}
