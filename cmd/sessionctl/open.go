package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	session "github.com/sessiongo/session/core"
)

const openDescription = `Opens a session cookie as the server would and prints, as JSON, whether it
exists, why not (error class and the reference's message), its audience,
subject, data and audiences, the header fields of each cookie (the session
and remember cookies are decoded even when they fail to open; "verified"
says whether the header was authenticated) and the remaining timeouts.

The cookie is given as arguments or on stdin: a Cookie header
("Cookie: session=...; remember=..."), name=value pairs, the Set-Cookie
lines "sessionctl new" prints, or a bare value of the session cookie.
Chunked sessions (session, session2, ...) and remember cookies are read
from the same input. With --store the record is read from the store;
open never writes to it (a restore from the remember cookie is shown,
not stored). For cookie storage, when the configuration names a
revocation backend ("revocation" and its section), open looks the session
up there as the application does: a revoked session does not open
("session revoked"); --no-revocation skips the lookup. open writes no mark.

Exit status: 0 when the cookie was examined, whether it opens or not (see
"exists"); with --check, 1 when it does not open. 1 when the store failed,
2 for bad usage.
`

// report is the JSON that open prints.
type report struct {
	Exists    bool           `json:"exists"`
	Error     *errorReport   `json:"error"`
	Hint      string         `json:"hint,omitempty"`
	Now       int64          `json:"now"`
	Audience  string         `json:"audience"`
	Subject   *string        `json:"subject"`
	Data      map[string]any `json:"data"`
	Audiences []string       `json:"audiences"`
	Remember  bool           `json:"remember"`
	Restored  bool           `json:"restored_from_remember"`
	ID        string         `json:"id,omitempty"`
	Header    *headerReport  `json:"header"`
	Timeouts  *timeouts      `json:"timeouts"`
	Cookies   cookiesReport  `json:"cookies"`
	Store     *storeReport   `json:"store,omitempty"`
	// Revocation is the revocation backend the session was looked up in.
	Revocation *revocationReport `json:"revocation,omitempty"`
	SetCookie  []string          `json:"set_cookie,omitempty"`
}

type errorReport struct {
	Class   string `json:"class"`   // not_found, expired, invalid, too_large, store, ...
	Message string `json:"message"` // the reference library's message
	Detail  string `json:"detail"`  // the whole error, with its cause
}

type headerReport struct {
	Type          int      `json:"type"`
	Flags         uint16   `json:"flags"`
	FlagNames     []string `json:"flag_names"`
	SessionID     string   `json:"session_id"`
	CreationTime  int64    `json:"creation_time"`
	Created       string   `json:"created"`
	RollingOffset int64    `json:"rolling_offset"`
	IdlingOffset  int64    `json:"idling_offset"`
	DataSize      int      `json:"data_size"`
	Tag           string   `json:"tag"`
	MAC           string   `json:"mac"`
	Verified      bool     `json:"verified"`
	Key           *int     `json:"key,omitempty"` // which key verified it: 0 primary, then the fallbacks
}

// timeouts are remaining seconds; null means the timeout is off, and a
// negative number says by how much it was exceeded.
type timeouts struct {
	Timeout          *int64 `json:"timeout,omitempty"`
	Idling           *int64 `json:"idling,omitempty"`
	Rolling          *int64 `json:"rolling,omitempty"`
	Absolute         *int64 `json:"absolute,omitempty"`
	RememberRolling  *int64 `json:"remember_rolling,omitempty"`
	RememberAbsolute *int64 `json:"remember_absolute,omitempty"`
}

type cookiesReport struct {
	Session  cookieReport `json:"session"`
	Remember cookieReport `json:"remember"`
}

type cookieReport struct {
	Name          string        `json:"name"`
	Present       bool          `json:"present"`
	Length        int           `json:"length,omitempty"`
	Chunks        int           `json:"chunks,omitempty"`         // how many cookies the header says it spans
	ChunksPresent int           `json:"chunks_present,omitempty"` // how many of them came with the request
	Header        *headerReport `json:"header,omitempty"`
	HeaderError   *errorReport  `json:"header_error,omitempty"`
	Timeouts      *timeouts     `json:"timeouts,omitempty"`
}

type storeReport struct {
	URL           string `json:"url"`
	Name          string `json:"name"`
	Key           string `json:"key,omitempty"`
	WritesSkipped int    `json:"writes_skipped,omitempty"`
}

func runOpen(e *env, args []string) error {
	fs := newFlagSet(e, "open", "open [flags] [COOKIE...]", openDescription)
	cf := addConfigFlags(fs)
	rq := addRequestFlags(fs)
	check := fs.Bool("check", false, "exit 1 when the cookie does not open")
	compact := fs.Bool("compact", false, "print the JSON on one line")
	noRevocation := fs.Bool("no-revocation", false, "do not look the session up in the configuration's revocation backend")
	positional, err := parseFlags(e, fs, args)
	if err != nil {
		return err
	}
	st, err := cf.settings(e)
	if err != nil {
		return err
	}
	if err := needKey(st); err != nil {
		return err
	}
	clock, now, err := rq.clock()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), rq.timeout)
	defer cancel()

	var ro *readOnlyStore
	var conn *storeConn
	if st.store != "" {
		if conn, err = openStore(ctx, st.store); err != nil {
			return err
		}
		defer conn.close()
		ro = &readOnlyStore{Store: conn.store}
		st.cfg.Store = ro
	}
	revConn, rev, err := openRevocation(ctx, st, *noRevocation)
	if err != nil {
		return err
	}
	if revConn != nil {
		defer revConn.close()
		st.cfg.Revocation = rev
	}
	st.cfg.Clock = clock
	st.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := session.New(st.cfg)
	if err != nil {
		return usageError{err}
	}
	cookies, err := readCookies(e, positional, m.CookieName())
	if err != nil {
		return err
	}

	ex := &exchange{ctx: ctx, cookies: cookies, remoteAddr: rq.remoteAddr, scheme: rq.scheme, userAgent: rq.userAgent}
	s := m.NewSession(ex)
	openErr := s.Open()

	r := &report{
		Exists:    openErr == nil && s.Exists(),
		Error:     errorOf(openErr),
		Now:       now,
		Audience:  s.Audience(),
		Data:      s.Data(),
		Audiences: s.Audiences(),
		Remember:  s.Remember(),
		ID:        s.ID(),
		SetCookie: ex.setCookies,
	}
	r.Restored = r.Exists && len(ex.setCookies) > 0
	if v, ok := s.Property(session.PropertySubject); ok {
		r.Subject = &v
	}
	if h, ok := s.Header(); ok {
		r.Header = headerOf(h)
	}
	if r.Exists {
		r.Timeouts = &timeouts{}
		for _, t := range []struct {
			dst **int64
			f   func() (time.Duration, bool)
		}{{&r.Timeouts.Timeout, s.Timeout}, {&r.Timeouts.Idling, s.IdlingTimeout}, {&r.Timeouts.Rolling, s.RollingTimeout}, {&r.Timeouts.Absolute, s.AbsoluteTimeout}} {
			if d, ok := t.f(); ok {
				n := int64(d / time.Second)
				*t.dst = &n
			}
		}
	}
	r.Cookies.Session = inspectCookie(m, st, cookies, m.CookieName(), false, now)
	r.Cookies.Remember = inspectCookie(m, st, cookies, m.RememberCookieName(), true, now)
	if r.Restored && r.Cookies.Remember.Header != nil {
		// The restore authenticated the request's remember cookie (and
		// replaced it with a new one, so which key did is not known).
		r.Cookies.Remember.Header.Verified = true
	}
	if h, ok := s.Header(); ok && !r.Restored && r.Cookies.Session.Header != nil && h.SessionID == r.Cookies.Session.Header.SessionID {
		r.Cookies.Session.Header.Verified = true
		r.Cookies.Session.Header.Key = &h.Key
	}
	if conn != nil {
		r.Store = &storeReport{URL: conn.redacted, Name: m.CookieName(), WritesSkipped: ro.skipped}
		hd := r.Cookies.Session.Header
		if r.Restored {
			r.Store.Name = m.RememberCookieName()
			hd = r.Cookies.Remember.Header
		}
		if hd != nil {
			r.Store.Key, _ = m.StorageKey(hd.SessionID)
		}
	}
	if revConn != nil {
		r.Revocation = &revocationReport{URL: revConn.redacted, WritesSkipped: rev.skipped}
	}
	r.Hint = hint(st, r, openErr)

	enc := json.NewEncoder(e.stdout)
	if !*compact {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(r); err != nil {
		return err
	}
	switch {
	case errors.Is(openErr, session.ErrStore) && conn != nil:
		return fmt.Errorf("store %s: %w", conn.redacted, openErr)
	case errors.Is(openErr, session.ErrStore) && revConn != nil:
		return fmt.Errorf("revocation backend %s: %w", revConn.redacted, openErr)
	case errors.Is(openErr, session.ErrStore):
		return openErr
	case *check && !r.Exists:
		return exitError(exitFailure)
	}
	return nil
}

// needKey refuses to run without a key: the session library would make a
// random one, which opens nothing and mints cookies nobody can read.
func needKey(st *settings) error {
	if st.cfg.Secret == "" && st.cfg.IKM == nil {
		return usagef("no key: pass --secret, --ikm-hex or --config with a secret or ikm")
	}
	return nil
}

// errorOf classifies an error of the session library.
func errorOf(err error) *errorReport {
	if err == nil {
		return nil
	}
	r := &errorReport{Class: "error", Message: err.Error(), Detail: err.Error()}
	var e *session.Error
	if errors.As(err, &e) {
		r.Message = e.Msg
	}
	for _, c := range []struct {
		kind  error
		class string
	}{
		{session.ErrNotFound, "not_found"},
		{session.ErrExpired, "expired"},
		{session.ErrInvalid, "invalid"},
		{session.ErrTooLarge, "too_large"},
		{session.ErrStore, "store"},
		{session.ErrInvalidConfig, "invalid_config"},
		{session.ErrClosed, "closed"},
	} {
		if errors.Is(err, c.kind) {
			r.Class = c.class
			break
		}
	}
	return r
}

func headerOf(h session.Header) *headerReport {
	r := &headerReport{
		Type:          1,
		Flags:         h.Flags,
		FlagNames:     h.FlagNames(),
		SessionID:     h.SessionID,
		CreationTime:  h.CreationTime.Unix(),
		Created:       h.CreationTime.UTC().Format(time.RFC3339),
		RollingOffset: int64(h.RollingOffset / time.Second),
		IdlingOffset:  int64(h.IdlingOffset / time.Second),
		DataSize:      h.DataSize,
		Tag:           hex.EncodeToString(h.Tag[:]),
		MAC:           hex.EncodeToString(h.MAC[:]),
		Verified:      h.Key >= 0,
	}
	if h.Key >= 0 {
		k := h.Key
		r.Key = &k
	}
	return r
}

// inspectCookie decodes, without authenticating it, the header of one
// cookie of the request, and computes its remaining timeouts under the
// configuration.
func inspectCookie(m *session.Manager, st *settings, cookies, name string, remember bool, now int64) cookieReport {
	r := cookieReport{Name: name}
	value, ok := lookupCookie(cookies, name)
	if !ok {
		return r
	}
	r.Present, r.Length = true, len(value)
	h, err := session.ParseHeader(value)
	if err != nil {
		r.HeaderError = errorOf(err)
		return r
	}
	r.Header = headerOf(h)
	if h.Flags&0x0001 == 0 { // cookie storage: the data may span chunks
		if n, err := h.Chunks(name); err == nil {
			r.Chunks, r.ChunksPresent = n, 1
			for i := 2; i <= n; i++ {
				if _, ok := lookupCookie(cookies, fmt.Sprintf("%s%d", name, i)); ok {
					r.ChunksPresent++
				}
			}
		}
	}
	created := h.CreationTime.Unix()
	rolling := int64(h.RollingOffset / time.Second)
	idling := int64(h.IdlingOffset / time.Second)
	left := func(timeout, elapsed int64) *int64 {
		if timeout == 0 {
			return nil
		}
		n := timeout - elapsed
		return &n
	}
	c := &st.cfg
	t := &timeouts{}
	if remember {
		t.RememberRolling = left(effective(c.RememberRollingTimeout, session.DefaultRememberRollingTimeout), now-created-rolling)
		t.RememberAbsolute = left(effective(c.RememberAbsoluteTimeout, session.DefaultRememberAbsoluteTimeout), now-created)
	} else {
		t.Idling = left(effective(c.IdlingTimeout, session.DefaultIdlingTimeout), now-created-rolling-idling)
		t.Rolling = left(effective(c.RollingTimeout, session.DefaultRollingTimeout), now-created-rolling)
		t.Absolute = left(effective(c.AbsoluteTimeout, session.DefaultAbsoluteTimeout), now-created)
		for _, v := range []*int64{t.Idling, t.Rolling, t.Absolute} {
			if v != nil && (t.Timeout == nil || *v < *t.Timeout) {
				t.Timeout = v
			}
		}
	}
	r.Timeouts = t
	return r
}

// hint says what to try when the cookie does not open for a reason the
// command line can fix.
func hint(st *settings, r *report, err error) string {
	if err == nil {
		return ""
	}
	h := r.Cookies.Session.Header
	if r.Restored || h == nil {
		return ""
	}
	var e *session.Error
	msg := ""
	if errors.As(err, &e) {
		msg = e.Msg
	}
	stored := h.Flags&0x0001 != 0
	switch {
	case msg == "invalid session flags" && stored && st.cfg.Store == nil:
		return "the cookie's data is in a server-side store: pass --store URL (or a --config with storage)"
	case msg == "invalid session flags" && !stored && st.cfg.Store != nil:
		return "the cookie holds its data itself (cookie storage): drop --store"
	case msg == "invalid session message authentication code":
		var bound []string
		for _, n := range h.FlagNames {
			if strings.HasPrefix(n, "bind-") {
				bound = append(bound, strings.TrimPrefix(n, "bind-"))
			}
		}
		if len(bound) > 0 {
			return fmt.Sprintf("the cookie is bound to %s: pass the client's %s exactly as the server saw them, and check the secret", strings.Join(bound, ", "), bindFlagNames(bound))
		}
		return "the cookie was not made with this secret or ikm (nor a fallback): check --secret / --ikm-hex and their fallbacks"
	case msg == "missing session audience" && len(r.Audiences) > 1:
		return fmt.Sprintf("the cookie has no entry for audience %q: its audiences are %s; pass --audience", r.Audience, strings.Join(r.Audiences[:len(r.Audiences)-1], ", "))
	case msg == "missing session cookie chunk":
		return fmt.Sprintf("the session spans %d cookies and %d came with the request: pass all of them", r.Cookies.Session.Chunks, r.Cookies.Session.ChunksPresent)
	}
	return ""
}

func bindFlagNames(bound []string) string {
	var out []string
	for _, b := range bound {
		switch b {
		case "ip":
			out = append(out, "--remote-addr")
		case "scheme":
			out = append(out, "--scheme")
		case "user-agent":
			out = append(out, "--user-agent")
		}
	}
	return strings.Join(out, ", ")
}
