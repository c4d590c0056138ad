package session

import (
	"fmt"
	"slices"
)

// Revocation keys travel in the encrypted cookie as a fourth element of
// their audience's entry:
//
//	[data, audience, subject, ["sid:https://idp#8f2c", "sub:https://idp#alice"]]
//	[data, audience, false, ["sid:https://idp#8f2c"]]   (no subject)
//
// so that lua-resty-session 4.1.5, which reads the first three elements of
// an entry and writes the entry back as it found it, still opens such a
// cookie with the same data, audience and subject, and keeps the keys when
// it saves the cookie again. An entry without a subject carries false in
// the third place, which the reference reads as "no subject" wherever it
// uses the subject (its Lua tests are `if audience and subject`, `if not
// value`): JSON null would decode in its cjson as cjson.null, a value that
// is true in Lua and would be taken for a subject, and "" is true in Lua
// too. An entry without keys is encoded exactly as before, [data, audience]
// or [data, audience, subject]. docs/revocation.md has the details.

// appendRevocationKeys appends the third (when the entry has no subject)
// and fourth elements of an entry with revocation keys to out.
func appendRevocationKeys(out []byte, e *entry) ([]byte, error) {
	if !e.hasSubject {
		out = append(out, ",false"...)
	}
	out = append(out, ",["...)
	for i, k := range e.keys {
		if i > 0 {
			out = append(out, ',')
		}
		var ok bool
		if out, ok = appendJSONString(out, k); !ok {
			return out, fmt.Errorf("revocation key %q of audience %q is %w", k, e.audience, errInvalidUTF8)
		}
	}
	return append(out, ']'), nil
}

// decodeRevocationKeys reads the fourth element of an entry: an array of
// strings. An empty array, the empty object a Lua encoder may write for an
// empty table, and null mean no keys.
func decodeRevocationKeys(v any) ([]string, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case map[string]any:
		return nil, len(v) == 0
	case []any:
		if len(v) == 0 {
			return nil, true
		}
		keys := make([]string, len(v))
		for i, k := range v {
			s, ok := k.(string)
			if !ok {
				return nil, false
			}
			keys[i] = s
		}
		return keys, true
	}
	return nil, false
}

// SetRevocationKeys replaces the revocation keys of the current audience's
// entry; with no keys it removes them. A revocation key is an opaque string
// the application chooses, typically what an identity provider may later
// revoke without any cookie at hand, such as "sid:"+issuer+"#"+sid and
// "sub:"+issuer+"#"+subject from an OpenID Connect ID token. Keys are kept
// in the encrypted cookie, across saves and restores from the remember
// cookie, until changed; duplicates are dropped. Save to send them.
//
// With cookie storage and Config.Revocation, Open rejects a session that
// carries a key revoked by Manager.Revoke at or after the session was
// created. With a server-side Store the keys are carried but not checked:
// revoke such sessions with Manager.RevokeSessions or
// Manager.RevokeSession. Keys must be valid UTF-8, or Save fails with
// ErrInvalid.
func (s *Session) SetRevocationKeys(keys ...string) {
	if s.state == stateClosed {
		return
	}
	var kept []string
	for _, k := range keys {
		if !slices.Contains(kept, k) {
			kept = append(kept, k)
		}
	}
	s.entry().keys = kept
}

// RevocationKeys returns a copy of the revocation keys of the current
// audience's entry, nil when it has none (see SetRevocationKeys).
func (s *Session) RevocationKeys() []string {
	if s.state == stateClosed {
		return nil
	}
	return slices.Clone(s.entry().keys)
}
