// Package session implements secure HTTP sessions, wire-compatible with
// lua-resty-session 4 (the session library of OpenResty and Kong).
//
//	import session "github.com/sessiongo/session/core"
//
// A Manager holds a validated Config; it is safe for concurrent use. Each
// request gets its own Session, bound to an Exchange (the request and its
// response). net/http is built in:
//
//	m, err := session.New(session.Config{Secret: secret})
//	...
//	s, exists, refreshed, err := m.Start(w, r) // open + refresh
//	s.Set("user", "alice")
//	err = s.Save()                             // new id, new Set-Cookie
//
// Framework adapters (gin, echo, fiber, chi) implement Exchange and call
// Manager.NewSession; they never format cookies or touch crypto.
//
// # Wire format
//
// A cookie is base64url(header) followed by base64url(ciphertext). The
// 82-byte header carries a type, flags, a 32-byte random session id (new on
// every save), the creation time, rolling and idling offsets, the data size,
// the AES-GCM tag and a 16-byte HMAC-SHA256. Keys are derived per session id
// with HKDF-SHA256 from the 32-byte initial keying material (SHA-256 of
// Config.Secret, or Config.IKM); remember cookies derive their encryption key
// with PBKDF2 at the configured safety level. The plaintext is the JSON array
// [[data, audience, subject], ...], deflated when large, and split over up to
// nine cookies when it does not fit in one. With a Store the cookie holds only
// the header and the ciphertext lives on the server.
//
// # Threat model
//
// The cookie is confidential and authenticated: without the key a client can
// neither read nor change it, nor move an entry from one session to another
// (the AAD and the MAC cover the header, and each session id has its own
// keys). Every change of a character is detected: base64url is decoded
// strictly. Timeouts are enforced on the server from the authenticated
// header, so a client cannot extend a session. Binding (Config.Bind) ties a
// session to the client's IP, scheme and User-Agent. What cookie storage
// cannot do alone is revoke a session before it expires: a stolen cookie
// stays valid until its timeouts, so set Config.Revocation (a backend of
// revocation marks, checked on every Open) or use a Store (and the subject
// index) when you need server-side logout. Keys are never logged; without a
// configured secret a random key is used and a warning is logged. New rejects keys
// anyone could use (an empty fallback secret, an all-zero IKM) and warns
// about secrets shorter than 16 bytes. Cookies are Secure by default.
// Refresh moves a session opened with a fallback key to the current key, so
// a rotated-out secret stops working once its sessions are used.
//
// Work done before a request is authenticated is bounded: the Cookie header
// is read once, at most 128 KiB of it; a replayed remember cookie costs its
// PBKDF2 derivation once (a bounded cache); inflating is capped at cookie
// scale with cookie storage.
//
// # Compatibility
//
// The tests replay cookies and request sequences recorded from the reference
// library: every reference cookie opens with the same result, and Set-Cookie
// lines are reproduced byte for byte where the plaintext bytes coincide.
// Errors keep the reference's messages and match one of the sentinel errors
// (ErrNotFound, ErrExpired, ErrInvalid, ...) with errors.Is. Deliberate
// differences, all on the side of safety: Secure by default (the
// reference's cookie_secure defaults to false; see Config.DisableSecure),
// the key checks and the fallback-key refresh above, invalid UTF-8 rejected
// on save rather than changed, ClearRequestCookie removing every cookie
// that Open could read, and revocation (Config.Revocation) failing closed by
// default.
package session
