package session

import (
	"errors"

	"github.com/sessiongo/session/core/store"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers branch with errors.Is and never compare error strings.
// The text of the returned error keeps the reference library's message (for
// example "session idling timeout exceeded"), so logs read the same as those
// of lua-resty-session.
var (
	// ErrNotFound means there is no session for this request: the cookie is
	// missing, a cookie chunk is missing, the store has no record, or the
	// cookie holds no entry for the configured audience. It also reports an
	// operation (touch, refresh, logout, destroy, ...) on a session that was
	// never opened. Start a new session. It is store.ErrNotFound, the error
	// a Store returns for a missing record, under another name: errors.Is
	// matches either.
	ErrNotFound = store.ErrNotFound

	// ErrExpired means the cookie was genuine in form but one of its timeouts
	// (idling, rolling, absolute, remember) or the maximum lifetime has
	// passed. Start a new session; the user may have to sign in again.
	ErrExpired = errors.New("session expired")

	// ErrInvalid means the cookie failed decoding or authentication: a
	// malformed, truncated, tampered or foreign cookie, a wrong key, or a
	// payload that does not decrypt. Reject it and start a new session.
	ErrInvalid = errors.New("session invalid")

	// ErrTooLarge means the session does not fit: more than nine 4096-byte
	// cookies with cookie storage, or more than 2^24-1 bytes of data with a
	// server-side store. Store less, or use a server-side store.
	ErrTooLarge = errors.New("session too large")

	// ErrInvalidConfig is returned by New for a configuration that cannot
	// work or that anyone could forge sessions with (an ikm that is not 32
	// bytes or is all zeros, an empty fallback secret, an unknown bind or
	// header name, SameParty with SameSite=Strict, ...). Fix the
	// configuration.
	ErrInvalidConfig = errors.New("invalid session configuration")

	// ErrClosed is returned by every operation on a session after Close,
	// Destroy or Logout. Create a new session from the Manager instead.
	ErrClosed = errors.New("session closed")

	// ErrStore wraps a failure of the configured Store (connection refused,
	// timeout, cancelled context, ...). The session on the client is kept;
	// retry later or report the outage.
	ErrStore = errors.New("session store failure")

	// ErrHeadersSent is reported (to the middleware's error handler) when a
	// cookie was set after the response headers had gone out, typically a Save
	// after the handler wrote its body: the cookie did not reach the client.
	// Save before writing the body, or use WithAutoSave.
	ErrHeadersSent = errors.New("session cookie set after the response headers were sent")

	// ErrSessionLimit is returned by a login's Save refused by
	// Config.RefuseOverLimit: the subject has Config.MaxSessionsPerSubject
	// sessions already. It is store.ErrSessionLimit.
	ErrSessionLimit = store.ErrSessionLimit
)

// Error is the concrete type of the errors returned by this package. Its
// message is the reference library's; Kind is one of the sentinel errors
// above, and Err, when set, is the underlying cause.
type Error struct {
	Kind error  // one of ErrNotFound, ErrExpired, ErrInvalid, ...
	Msg  string // the reference library's message
	Err  error  // underlying cause, may be nil
}

// Error returns the reference library's message, followed by the cause in
// parentheses when there is one.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + " (" + e.Err.Error() + ")"
}

// Unwrap returns the sentinel kind and the cause, so that errors.Is matches
// both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func newError(kind error, msg string) error { return &Error{Kind: kind, Msg: msg} }

func wrapError(kind error, msg string, cause error) error {
	return &Error{Kind: kind, Msg: msg, Err: cause}
}

// Errors without a cause are allocated once.
var (
	errMissingCookie   = newError(ErrNotFound, "missing session cookie")
	errMissingChunk    = newError(ErrNotFound, "missing session cookie chunk")
	errMissingAudience = newError(ErrNotFound, "missing session audience")
	errInvalidHeader   = newError(ErrInvalid, "invalid session header")
	errInvalidType     = newError(ErrInvalid, "invalid session cookie type")
	errInvalidFlags    = newError(ErrInvalid, "invalid session flags")
	errInvalidMAC      = newError(ErrInvalid, "invalid session message authentication code")
	errInvalidPayload  = newError(ErrInvalid, "invalid session payload")
	errPayloadChunks   = newError(ErrInvalid, "invalid session payload (cookie size limit exceeded)")
	errInvalidIdling   = newError(ErrInvalid, "invalid session idling offset")
	errLifetime        = newError(ErrExpired, "session lifetime exceeded")
	errAbsolute        = newError(ErrExpired, "session absolute timeout exceeded")
	errRolling         = newError(ErrExpired, "session rolling timeout exceeded")
	errIdling          = newError(ErrExpired, "session idling timeout exceeded")
	errRememberAbs     = newError(ErrExpired, "session remember absolute timeout exceeded")
	errRememberRolling = newError(ErrExpired, "session remember rolling timeout exceeded")
	errCookieTooLarge  = newError(ErrTooLarge, "cookie size limit exceeded")
	errDataTooLarge    = newError(ErrTooLarge, "session maximum data size exceeded")
)

func errClosed(op string) error { return newError(ErrClosed, "unable to "+op+" closed session") }

func errNonexistent(op string) error {
	return newError(ErrNotFound, "unable to "+op+" nonexistent session")
}
