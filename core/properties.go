package session

import (
	"strconv"
	"time"
)

// Properties of an open session (the reference's get_property), and the
// headers that carry them.

// propertyHeaders maps property names to the headers SetHeaders sets.
var propertyHeaders = map[Property]string{
	PropertyID:              "Session-Id",
	PropertyAudience:        "Session-Audience",
	PropertySubject:         "Session-Subject",
	PropertyTimeout:         "Session-Timeout",
	PropertyIdlingTimeout:   "Session-Idling-Timeout",
	"idling_timeout":        "Session-Idling-Timeout",
	PropertyRollingTimeout:  "Session-Rolling-Timeout",
	"rolling_timeout":       "Session-Rolling-Timeout",
	PropertyAbsoluteTimeout: "Session-Absolute-Timeout",
	"absolute_timeout":      "Session-Absolute-Timeout",
}

// ID returns the session id as 43 base64url characters, or "" before the
// session was opened or saved.
func (s *Session) ID() string {
	if !s.meta.valid {
		return ""
	}
	return b64.EncodeToString(s.meta.sid[:])
}

// nonce returns the raw 32-byte session id (the reference's "nonce"
// property), or nil.
func (s *Session) nonce() []byte {
	if !s.meta.valid {
		return nil
	}
	return append([]byte(nil), s.meta.sid[:]...)
}

// CreatedAt returns the creation time of the session, or the zero time.
func (s *Session) CreatedAt() time.Time {
	if !s.meta.valid {
		return time.Time{}
	}
	return time.Unix(s.meta.creationTime, 0)
}

func (s *Session) remaining(timeout, elapsed int64) (time.Duration, bool) {
	if timeout == 0 || !s.meta.valid {
		return 0, false
	}
	return time.Duration(timeout-elapsed) * time.Second, true
}

// IdlingTimeout returns what is left of the idling timeout, as of when the
// session was opened or saved; ok is false when that timeout is disabled.
func (s *Session) IdlingTimeout() (left time.Duration, ok bool) {
	md := &s.meta
	return s.remaining(s.m.idling, md.timestamp-md.creationTime-md.rollingOffset-md.idlingOffset)
}

// RollingTimeout returns what is left of the rolling timeout.
func (s *Session) RollingTimeout() (left time.Duration, ok bool) {
	md := &s.meta
	return s.remaining(s.m.rolling, md.timestamp-md.creationTime-md.rollingOffset)
}

// AbsoluteTimeout returns what is left of the absolute timeout.
func (s *Session) AbsoluteTimeout() (left time.Duration, ok bool) {
	md := &s.meta
	return s.remaining(s.m.absolute, md.timestamp-md.creationTime)
}

// Timeout returns the smallest of what is left of the idling, rolling and
// absolute timeouts; ok is false when all three are disabled.
func (s *Session) Timeout() (left time.Duration, ok bool) {
	for _, f := range [...]func() (time.Duration, bool){s.IdlingTimeout, s.RollingTimeout, s.AbsoluteTimeout} {
		if t, tok := f(); tok && (!ok || t < left) {
			left, ok = t, true
		}
	}
	return left, ok
}

// Property returns a property (PropertyID, PropertyTimeout...), formatted
// as its header carries it (timeouts in seconds). ok is false for an
// unknown or absent property.
func (s *Session) Property(name Property) (value string, ok bool) {
	if s.state == stateClosed {
		return "", false
	}
	var t time.Duration
	switch name {
	case PropertyID:
		id := s.ID()
		return id, id != ""
	case PropertyAudience:
		return s.entry().audience, true
	case PropertySubject:
		e := s.entry()
		return e.subject, e.hasSubject
	case PropertyTimeout:
		t, ok = s.Timeout()
	case PropertyIdlingTimeout, "idling_timeout":
		t, ok = s.IdlingTimeout()
	case PropertyRollingTimeout, "rolling_timeout":
		t, ok = s.RollingTimeout()
	case PropertyAbsoluteTimeout, "absolute_timeout":
		t, ok = s.AbsoluteTimeout()
	default:
		return "", false
	}
	if !ok {
		return "", false
	}
	return strconv.FormatInt(int64(t/time.Second), 10), true
}

// SetHeaders sets the request and the response headers of the given
// properties, or of Config.RequestHeaders and Config.ResponseHeaders when
// none are given. Unknown names are ignored.
func (s *Session) SetHeaders(names ...Property) error {
	if err := s.headersAllowed("set request/response headers on"); err != nil {
		return err
	}
	req, resp := s.m.requestHeaders, s.m.responseHeaders
	if len(names) > 0 {
		req, resp = names, names
	}
	s.setHeaders(req, s.ex.SetRequestHeader)
	s.setHeaders(resp, s.ex.SetResponseHeader)
	return nil
}

// SetRequestHeaders sets the request headers of the given properties, or of
// Config.RequestHeaders when none are given.
func (s *Session) SetRequestHeaders(names ...Property) error {
	if err := s.headersAllowed("set request headers on"); err != nil {
		return err
	}
	if len(names) == 0 {
		names = s.m.requestHeaders
	}
	s.setHeaders(names, s.ex.SetRequestHeader)
	return nil
}

// SetResponseHeaders sets the response headers of the given properties, or
// of Config.ResponseHeaders when none are given.
func (s *Session) SetResponseHeaders(names ...Property) error {
	if err := s.headersAllowed("set response headers on"); err != nil {
		return err
	}
	if len(names) == 0 {
		names = s.m.responseHeaders
	}
	s.setHeaders(names, s.ex.SetResponseHeader)
	return nil
}

func (s *Session) headersAllowed(op string) error {
	switch s.state {
	case stateClosed:
		return errClosed(op)
	case stateNew:
		return errNonexistent(op)
	}
	return nil
}

func (s *Session) setHeaders(names []Property, set func(name, value string)) {
	for _, name := range names {
		header, known := propertyHeaders[name]
		if !known {
			continue
		}
		if v, ok := s.Property(name); ok {
			set(header, v)
		}
	}
}
