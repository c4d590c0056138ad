// Package session implements secure HTTP sessions, wire-compatible with
// lua-resty-session 4 (the session library of OpenResty and Kong): a
// cookie made by one opens in the other.
//
//	import session "github.com/sessiongo/session/core"
//
// # Getting started
//
// Make one Manager when the application starts, from a Config (the
// reference's option table; every zero value is the reference's default).
// It is immutable and safe for concurrent use:
//
//	m, err := session.New(session.Config{
//		Secret:       os.Getenv("SESSION_SECRET"), // 16 bytes or more
//		CookiePrefix: session.PrefixHost,          // __Host-session
//	})
//	if err != nil {
//		log.Fatal(err) // matches ErrInvalidConfig
//	}
//
// Each request then gets its own Session. With net/http, m.Start opens the
// request's session and refreshes it as its timeouts near:
//
//	s, err := m.Start(w, r)
//	if err != nil { // the store is down (ErrStore): log err, answer 500
//		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
//		return
//	}
//	if !s.Exists() {
//		// No usable session: no cookie, an expired one, one tampered
//		// with. s is new and empty; saving it starts a session.
//	}
//
// A request without a usable session is not an error: the session is never
// nil and always usable, and err reports only what the caller must handle.
// Manager.Open does the same without the refresh.
//
// The middleware does this for every request: m.Middleware() for net/http
// (read the session with FromRequest, or FromContext in code that has only
// a context.Context), and the adapters for gin, echo, fiber and chi
// (github.com/sessiongo/session/adapters/...). It answers 500 when the store
// is down (WithErrorHandler changes that), and with WithAutoSave it saves a
// changed session before the response headers go out.
//
// # Reading and writing values
//
// Set stores a value that encoding/json can encode; Get[T] and Decode read
// it back with its type, in this request and in later ones (Session.Get
// returns what encoding/json gives an any). Save sends the new cookie: call
// it before writing the body, or use the middleware's WithAutoSave.
//
//	s.Set("cart", Cart{Items: []string{"book"}})
//	if err := s.Save(); err != nil { ... } // ErrStore, or ErrTooLarge
//	cart, err := session.Get[Cart](s, "cart") // ErrNotFound when missing
//
// Flash adds a message that the next request reads once (Flashes,
// PopFlashes). Info holds values that, with a store, are saved without a
// new cookie. Subject, Audience and the timeouts (Timeout,
// IdlingTimeout...) describe the session; Property and SetHeaders pass them
// to upstreams.
//
// # Signing in and out
//
// At login, set the subject and call Renew rather than Save: the session
// gets a new id, so that no cookie from before the login (a copy, or one an
// attacker planted) opens the signed-in session:
//
//	s.SetSubject(user.ID)
//	s.SetRemember(rememberMe) // with Config.Remember: a long-lived second cookie
//	if err := s.Renew(); err != nil { ... }
//
// At logout, s.Destroy() (or m.Destroy(w, r)) expires the cookies and
// deletes the store records; s.Logout() removes only the current
// audience from a cookie that several applications share. m.Destroy and
// m.Logout of a request without a session do nothing and return nil.
//
// # Stores
//
// By default the whole session lives in the cookie (encrypted and
// authenticated), and nothing is kept on the server: such a session cannot
// be revoked before it expires. With Config.Store the cookie holds only a
// header and the data lives in a store: NewMemoryStore and NewFileStore
// here, Redis, Memcached and SQL databases in their own modules
// (github.com/sessiongo/session/stores/...). With Config.StoreMetadata the
// store also indexes sessions by subject: Manager.Sessions lists a user's
// sessions and Manager.RevokeSessions signs them out everywhere.
//
// # Errors
//
// Every error matches one of the sentinel errors with errors.Is and keeps
// the reference's message. What an application meets: ErrStore (the store
// failed: log the error, never send its text, answer 500 or 503),
// ErrTooLarge from Save (store less, or use a store), ErrInvalidConfig from
// New, ErrHeadersSent from the middleware's error handler (a save after the
// body), ErrClosed after Destroy, Logout or Close. ErrNotFound, ErrExpired
// and ErrInvalid say why a request has no usable session; the middleware,
// Manager.Open and Manager.Start do not report them, and the low-level
// Session.Open does, for logs and tests.
//
// # Hooks, metrics and traces
//
// Config.Hooks holds optional functions called as sessions open, are
// rejected (expired, tampered with, revoked), created, rotated, destroyed,
// logged out and revoked, and around every store call: for metrics, audit
// logs and traces. They run synchronously with the request's context; a
// panicking hook is recovered and logged. Events name a cookie by a Handle,
// never by its session id. The module github.com/sessiongo/session/otel
// fills the hooks in with OpenTelemetry metrics and spans.
//
// # For adapter and store authors
//
// A framework adapter connects the middleware to its framework:
// package adapter (github.com/sessiongo/session/core/adapter) holds the
// Exchange a session reads its request through, and its documentation
// walks through Middleware.Begin, Scope.Commit before the response headers,
// Scope.Finish after the handler and NewContext. Manager.NewSession makes a
// session on any Exchange. A store implements the Store interface; package
// store (github.com/sessiongo/session/core/store) holds it with what only
// store authors need. Package conformance
// (github.com/sessiongo/session/conformance) tests both: TestAdapter and
// TestStore.
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
// The open cache (Config.OpenCacheSize) keeps the plaintexts of recently
// opened and issued cookies in memory, to skip decrypting them again. It is
// consulted only once the header's MAC and timeouts passed (and, with a
// Store, once the record was read), and only a cookie whose key, header and
// payload are byte for byte those that made the plaintext hits, so a
// changed or revoked cookie is treated as without it. Turn it off where
// decrypted session data must not stay in memory past its request.
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
