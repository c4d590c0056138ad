package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
)

// Hooks are functions a Manager calls at the moments of a session's life
// (Config.Hooks): to count them, log them, trace the store, or alert on
// tampered cookies. Every field is optional; a nil field costs one nil
// check. The package github.com/sessiongo/session/otel fills them in with
// OpenTelemetry metrics and traces.
//
// Hooks run synchronously, in the goroutine of the call that caused them
// and with the request's context (the adapter.Exchange's), so a hook sees
// the request's trace and request-scoped values; keep them quick. Requests
// call them concurrently: they must be safe for concurrent use. A hook
// that panics is recovered: the panic and its stack are logged with the
// Manager's logger (Config.Logger) and the request goes on as if the hook
// had returned.
//
// Events never give a session id, a storage key or a subject: a cookie is
// named by its Handle, a short one-way hash of its session id, which an
// event computes when asked (OpenEvent.Handle, Event.Handle and
// Event.Previous), so that hooks that do not ask pay nothing for it.
type Hooks struct {
	// OnOpen is called once for every Session.Open (and so for Start,
	// Manager.Open, Manager.Start and the middleware) that gets past the
	// closed-session check, with its outcome: the session opened, was
	// restored from the remember cookie, the request had no cookie, or why
	// it did not open.
	OnOpen func(ctx context.Context, e OpenEvent)
	// OnReject is called for each cookie the request presented that did not
	// open (an Open may reject the session cookie and then the remember
	// cookie), with the reason class. A request without the cookie is not
	// a rejection, and neither is a store failure (see OnStoreError).
	OnReject func(ctx context.Context, e RejectEvent)
	// OnCreate is called when a save issues the first cookie of a new
	// session (a Save of a new session, the session cookie of a restore
	// from the remember cookie, the first remember cookie of a session, a
	// Renew of a request that had no session), once per cookie.
	OnCreate func(ctx context.Context, e Event)
	// OnRotate is called when a save re-issues a cookie of an existing
	// session under a new session id: every Save, a Refresh that saves,
	// Renew (Event.Renewed), a Logout of one of several audiences, and the
	// remember cookie re-issued with them. Event.Previous names the cookie
	// replaced.
	OnRotate func(ctx context.Context, e Event)
	// OnDestroy is called when Destroy ended a session (its session cookie
	// expired and, with a store, its records deleted), also when Logout of
	// the only audience destroys it; it is called even when the revocation
	// mark that follows fails (Destroy then returns the error).
	OnDestroy func(ctx context.Context, e Event)
	// OnLogout is called when Logout took the session out of an audience
	// (Event.Audience); when that was the only audience, OnDestroy is
	// called first.
	OnLogout func(ctx context.Context, e Event)
	// OnRevoke is called when Manager.Revoke, Manager.RevokeSessions or
	// Manager.RevokeSession succeeded.
	OnRevoke func(ctx context.Context, e RevokeEvent)
	// OnStoreError is called when a call to the Store or to the revocation
	// backend fails with anything but a missing record (which is how a
	// store says that a session ended).
	OnStoreError func(ctx context.Context, e StoreEvent)
	// OnStoreCall observes every call to the Store (those of its optional
	// interfaces too: the subject index, the group info of
	// Manager.Devices) and to the revocation backend, each named by a
	// StoreOp: it is called before the call, which then runs with the
	// context it returns (a tracer's span context, so that a store's own
	// instrumentation nests under it), and the function it returns, when
	// not nil, is called once after the call with its error (nil on
	// success; a missing record matches ErrNotFound). Use it for spans and
	// latency.
	OnStoreCall func(ctx context.Context, c StoreCall) (context.Context, func(err error))
}

// Handle names one cookie in events without identifying it: the first 8
// bytes of SHA-256 of a fixed label and the cookie's session id, in hex (16
// characters). A cookie's session id cannot be recovered from it, while the
// same cookie has the same handle in every process, so logs can follow a
// session: OnRotate gives the handle of the new cookie and of the one it
// replaced. The empty Handle names no cookie.
//
// Events compute handles when their Handle or Previous method is called,
// each call a SHA-256: call it once per event.
type Handle string

// handleLabel separates handles from every other hash of a session id (the
// storage key with Config.HashStorageKey, the revocation marks).
const handleLabel = "sessiongo handle v1\x00"

// handleOf returns the handle of a session id.
func handleOf(sid *[sidSize]byte) Handle {
	var in [len(handleLabel) + sidSize]byte
	copy(in[:], handleLabel)
	copy(in[len(handleLabel):], sid[:])
	sum := sha256.Sum256(in[:])
	return Handle(hex.EncodeToString(sum[:8]))
}

// cookieRef is, in an event, the cookie it names: a copy of its session
// id, from which the event's Handle is computed only when a hook asks for
// it. No method returns the id, and the events' Format methods print the
// handle in its place; keep it in unexported fields only.
type cookieRef struct {
	sid [sidSize]byte
	ok  bool // false: no cookie, the empty Handle
}

// refOf returns the cookieRef of a session id.
func refOf(sid *[sidSize]byte) cookieRef { return cookieRef{sid: *sid, ok: true} }

// handle returns the Handle of the cookie, "" for none.
func (c *cookieRef) handle() Handle {
	if !c.ok {
		return ""
	}
	return handleOf(&c.sid)
}

// CookieKind says which of a session's two cookies an event is about.
type CookieKind string

// The cookie kinds.
const (
	CookieSession  CookieKind = "session"  // the session cookie (Config.CookieName)
	CookieRemember CookieKind = "remember" // the remember cookie (Config.RememberCookieName)
)

// kindOf returns the kind of the session or remember cookie.
func kindOf(remember bool) CookieKind {
	if remember {
		return CookieRemember
	}
	return CookieSession
}

// Outcome is how an Open ended (OpenEvent.Outcome), and, for the four
// rejections, why a cookie was refused (RejectEvent.Reason). Its values
// are short lower-case words, usable as metric attribute values as they
// are.
type Outcome string

// The outcomes of Open.
const (
	// OutcomeOpened: the session cookie opened.
	OutcomeOpened Outcome = "opened"
	// OutcomeRestored: the session cookie did not open (or was missing) and
	// the remember cookie restored the session.
	OutcomeRestored Outcome = "restored"
	// OutcomeNone: the request carried no session cookie (and no remember
	// cookie, with remember on).
	OutcomeNone Outcome = "none"
	// OutcomeExpired: a timeout of the cookie has passed (ErrExpired).
	OutcomeExpired Outcome = "expired"
	// OutcomeInvalid: the cookie failed decoding or authentication: a
	// malformed, truncated, tampered or foreign cookie (ErrInvalid).
	OutcomeInvalid Outcome = "invalid"
	// OutcomeNotFound: the cookie is genuine but its session is gone: no
	// store record (destroyed, revoked with a store, expired), a missing
	// chunk, or no entry for the audience (ErrNotFound).
	OutcomeNotFound Outcome = "not_found"
	// OutcomeRevoked: the cookie was revoked (Config.Revocation).
	OutcomeRevoked Outcome = "revoked"
	// OutcomeError: the store or the revocation backend failed (ErrStore).
	OutcomeError Outcome = "error"
)

// outcomeOf classifies an error of open: errMissingCookie is OutcomeNone.
func outcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeOpened
	case err == errMissingCookie:
		return OutcomeNone
	case err == errRevoked:
		return OutcomeRevoked
	case errors.Is(err, ErrStore):
		return OutcomeError
	case errors.Is(err, ErrExpired):
		return OutcomeExpired
	case errors.Is(err, ErrNotFound):
		return OutcomeNotFound
	}
	return OutcomeInvalid
}

// OpenEvent is what OnOpen gets. Its Handle method names the session
// cookie.
type OpenEvent struct {
	Audience string  // the audience the session was opened for
	Outcome  Outcome // how the Open ended
	// Err is the error behind the outcome (nil for OutcomeOpened,
	// OutcomeRestored and OutcomeNone): the session cookie's, or the
	// remember cookie's when the request had no session cookie. It may name
	// the store's hosts or files: log it where the application's own errors
	// go.
	Err error

	cookie cookieRef
}

// Handle returns the Handle of the session cookie that opened
// (OutcomeOpened), or that was issued (OutcomeRestored); "" otherwise. It
// is computed at each call.
func (e OpenEvent) Handle() Handle { return e.cookie.handle() }

// Format prints the event as fmt prints a struct, with its Handle, so that
// logging an event (slog's text handler prints it with %+v) shows the
// handle and never what it is computed from.
func (e OpenEvent) Format(f fmt.State, verb rune) {
	type OpenEvent struct { // the fields shown, under the type's name
		Audience string
		Outcome  Outcome
		Handle   Handle
		Err      error
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), OpenEvent{e.Audience, e.Outcome, e.Handle(), e.Err})
}

// RejectEvent is what OnReject gets.
type RejectEvent struct {
	Audience string     // the audience the session was opened for
	Cookie   CookieKind // the cookie refused
	// Reason is OutcomeExpired, OutcomeInvalid, OutcomeNotFound or
	// OutcomeRevoked.
	Reason Outcome
	Err    error // why, in the reference's words ("session idling timeout exceeded")
}

// Event is what OnCreate, OnRotate, OnDestroy and OnLogout get. Its
// Handle and Previous methods name the cookies.
type Event struct {
	Audience string     // the session's current audience (for OnLogout, the one logged out of)
	Cookie   CookieKind // the cookie issued or, for OnDestroy and OnLogout, CookieSession
	// Size is, for OnCreate and OnRotate, the bytes the browser sends back
	// for this cookie: name=value of every chunk, as in the Cookie request
	// header (each chunk at most 4096 bytes).
	Size int
	// Renewed is set, for OnRotate and OnCreate, on the cookies Renew
	// issued.
	Renewed bool

	cookie, previous cookieRef
}

// Handle returns the Handle of the cookie issued, or of the session
// cookie of the session destroyed or logged out of ("" when that session
// had none). It is computed at each call.
func (e Event) Handle() Handle { return e.cookie.handle() }

// Previous returns, for OnRotate, the Handle of the cookie replaced; ""
// otherwise. It is computed at each call.
func (e Event) Previous() Handle { return e.previous.handle() }

// Format prints the event as fmt prints a struct, with its Handle and
// Previous, so that logging an event (slog's text handler prints it with
// %+v) shows the handles and never what they are computed from.
func (e Event) Format(f fmt.State, verb rune) {
	type Event struct { // the fields shown, under the type's name
		Audience string
		Cookie   CookieKind
		Handle   Handle
		Previous Handle
		Size     int
		Renewed  bool
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), Event{e.Audience, e.Cookie, e.Handle(), e.Previous(), e.Size, e.Renewed})
}

// RevokeScope says what a revocation covered (RevokeEvent.Scope).
type RevokeScope string

// The revocation scopes.
const (
	RevokeKey     RevokeScope = "key"     // Manager.Revoke: every session holding a revocation key
	RevokeSubject RevokeScope = "subject" // Manager.RevokeSessions: every session of a subject
	RevokeSession RevokeScope = "session" // Manager.RevokeSession: one browser session
)

// RevokeEvent is what OnRevoke gets.
type RevokeEvent struct {
	Audience string      // the Manager's audience
	Scope    RevokeScope // what was revoked
	// Records is, for RevokeSubject with a store, how many store records
	// were deleted; 0 otherwise.
	Records int
}

// StoreOp names a call to the Store or to the revocation backend.
type StoreOp string

// The store operations.
const (
	StoreGet      StoreOp = "get"      // Store.Get
	StoreSet      StoreOp = "set"      // Store.Set
	StoreDelete   StoreOp = "delete"   // Store.Delete
	StoreSessions StoreOp = "sessions" // store.SubjectIndex.Sessions
	StoreRevoked  StoreOp = "revoked"  // store.Revoker.Revoked (a revocation lookup)
	StoreRevoke   StoreOp = "revoke"   // store.Revoker.Revoke (writing marks)
	// StoreGroupInfo is store.GroupInfoReader.GroupInfo, which
	// Manager.Devices calls once per record of the subject index.
	StoreGroupInfo StoreOp = "group_info"
)

// StoreCall describes one call to the Store or to the revocation backend,
// for OnStoreCall. It never holds a key.
type StoreCall struct {
	Op StoreOp
	// Store is the Go type of the store called, without its pointer star
	// ("redisstore.Store", "session.MemoryStore").
	Store    string
	Audience string     // the Manager's audience
	Cookie   CookieKind // whose record; empty for revocation calls
}

// StoreEvent is what OnStoreError gets: the call and its error.
type StoreEvent struct {
	StoreCall
	// Err is the store's error, which the caller gets wrapped (matching
	// ErrStore; with FailOpen a failed revocation call is only logged); it
	// may name the store's hosts or files.
	Err error
}

// typeName returns the Go type of v without its pointer star, "" for nil.
func typeName(v any) string {
	if v == nil {
		return ""
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", v), "*")
}

// runHook calls h, recovering a panic.
func runHook[E any](m *Manager, ctx context.Context, name string, h func(context.Context, E), e E) {
	defer m.recoverHook(ctx, name)
	h(ctx, e)
}

// recoverHook logs the panic of a hook, which it recovers. It must be
// deferred directly.
func (m *Manager) recoverHook(ctx context.Context, name string) {
	if v := recover(); v != nil {
		m.logger.ErrorContext(ctx, "session: hook panicked; the request goes on", "hook", name, "panic", v, "stack", string(debug.Stack()))
	}
}

// opened runs OnOpen for an Open that ended with outcome o, because of
// err (nil when the session opened).
func (s *Session) opened(o Outcome, err error) {
	h := s.m.hooks.OnOpen
	if h == nil {
		return
	}
	e := OpenEvent{Audience: s.entry().audience, Outcome: o, Err: err}
	if err == nil && s.meta.valid {
		e.cookie = refOf(&s.meta.sid)
	}
	runHook(s.m, s.ex.Context(), "OnOpen", h, e)
}

// rejected runs OnReject for a cookie that did not open with err; a
// missing cookie and a store failure are not rejections.
func (s *Session) rejected(remember bool, err error) {
	h := s.m.hooks.OnReject
	if h == nil {
		return
	}
	reason := outcomeOf(err)
	if reason == OutcomeNone || reason == OutcomeError || reason == OutcomeOpened {
		return
	}
	runHook(s.m, s.ex.Context(), "OnReject", h, RejectEvent{Audience: s.entry().audience, Cookie: kindOf(remember), Reason: reason, Err: err})
}

// savedCookie runs OnCreate or OnRotate for the cookie a save issued under
// sid, with size bytes; md is what the session knew of that cookie before
// the save: when valid, the save rotated it. A save of Renew (md was
// cleared) rotates the cookie Renew replaced, if any.
func (s *Session) savedCookie(remember bool, md *meta, sid *[sidSize]byte, size int) {
	e := Event{Audience: s.entry().audience, Cookie: kindOf(remember), Size: size}
	var prev *[sidSize]byte
	switch k := s.replacedIndex(remember); {
	case md.valid:
		prev = &md.sid
	case s.renewed:
		e.Renewed = true
		if r := &s.replaced[k]; r.valid {
			prev = &r.sid
		}
	}
	h, name := s.m.hooks.OnCreate, "OnCreate"
	if prev != nil {
		h, name = s.m.hooks.OnRotate, "OnRotate"
		e.previous = refOf(prev)
	}
	if h == nil {
		return
	}
	e.cookie = refOf(sid)
	runHook(s.m, s.ex.Context(), name, h, e)
}

// replacedIndex is the index in Session.replaced of the session (0) or
// remember (1) cookie.
func (s *Session) replacedIndex(remember bool) int {
	if remember {
		return 1
	}
	return 0
}

// ended runs OnDestroy or OnLogout for the session's cookie md.
func (s *Session) ended(h func(context.Context, Event), name, audience string, md *meta) {
	if h == nil {
		return
	}
	e := Event{Audience: audience, Cookie: CookieSession}
	if md.valid {
		e.cookie = refOf(&md.sid)
	}
	runHook(s.m, s.ex.Context(), name, h, e)
}

// revokedHook runs OnRevoke.
func (m *Manager) revokedHook(ctx context.Context, scope RevokeScope, records int) {
	if h := m.hooks.OnRevoke; h != nil {
		runHook(m, ctx, "OnRevoke", h, RevokeEvent{Audience: m.audience, Scope: scope, Records: records})
	}
}

// storeCall starts a call to the Store (or, with op StoreRevoked or
// StoreRevoke, to the revocation backend) for OnStoreCall: it returns the
// context for the call and what storeDone needs.
func (m *Manager) storeCall(ctx context.Context, op StoreOp, cookie CookieKind) (context.Context, func(error)) {
	h := m.hooks.OnStoreCall
	if h == nil {
		return ctx, nil
	}
	return m.startStoreCall(ctx, h, m.storeCallOf(op, cookie))
}

func (m *Manager) startStoreCall(ctx context.Context, h func(context.Context, StoreCall) (context.Context, func(error)), c StoreCall) (callCtx context.Context, done func(error)) {
	defer m.recoverHook(ctx, "OnStoreCall")
	callCtx = ctx // kept if h panics
	if c, d := h(ctx, c); c != nil {
		callCtx, done = c, d
	} else {
		done = d
	}
	return callCtx, done
}

func (m *Manager) storeCallOf(op StoreOp, cookie CookieKind) StoreCall {
	c := StoreCall{Op: op, Store: m.storeType, Audience: m.audience, Cookie: cookie}
	if op == StoreRevoked || op == StoreRevoke {
		c.Store = m.revType
	}
	return c
}

// storeDone ends a call that storeCall started: done gets err, and
// OnStoreError a failure that is not a missing record.
func (m *Manager) storeDone(ctx context.Context, done func(error), op StoreOp, cookie CookieKind, err error) {
	if done != nil {
		m.runDone(ctx, done, err)
	}
	if err == nil || errors.Is(err, ErrNotFound) {
		return
	}
	if h := m.hooks.OnStoreError; h != nil {
		runHook(m, ctx, "OnStoreError", h, StoreEvent{StoreCall: m.storeCallOf(op, cookie), Err: err})
	}
}

func (m *Manager) runDone(ctx context.Context, done func(error), err error) {
	defer m.recoverHook(ctx, "OnStoreCall")
	done(err)
}
