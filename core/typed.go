package session

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Decode decodes the value of key in the data of the current audience into
// v, a non-nil pointer, the same way whether the value was set in this
// request or read from the cookie or the store: the value is encoded as
// a save writes it, and that JSON is decoded into v with encoding/json. What
// a later request reads is therefore what this request reads.
//
// The round trip is encoding/json's, and Decode reverses it:
//
//   - numbers keep their exact text: an int64 or uint64 comes back exact,
//     beyond 2^53 too, and a json.Number target receives the text (42, not
//     42.0); a number that does not fit v (3.5 or 1e300 into an int) is an
//     error, never a silent rounding;
//   - time.Time is written as RFC 3339 text with nanoseconds and comes back
//     as the same instant with the same offset from UTC, but not the same
//     *time.Location nor a monotonic clock reading: compare with Equal;
//   - []byte is written as base64 text and comes back as the same bytes;
//   - structs are written as objects of their exported fields (json tags
//     apply) and come back as the struct; a map[string]any or any target
//     receives the object with float64 numbers, as from encoding/json;
//   - types with MarshalJSON and UnmarshalJSON methods use them.
//
// A missing key, or one whose value is nil, is an error matching
// ErrNotFound. A value that does not decode into v (a string into an int,
// an object into a slice), a nil or non-pointer v, or a value that cannot be
// encoded is an error matching ErrInvalid that wraps encoding/json's error.
// On a closed session the error matches ErrClosed.
func (s *Session) Decode(key string, v any) error {
	if s.state == stateClosed {
		return errClosed("decode value of")
	}
	value := s.entry().data[s.dataKey(key)]
	if value == nil {
		return newError(ErrNotFound, "missing session value "+strconv.Quote(key))
	}
	return decodeValue(value, v)
}

// Get decodes the value of key in the data of the current audience as a T
// (see Session.Decode): Get[int64](s, "n"), Get[time.Time](s, "seen"),
// Get[Cart](s, "cart"). On error it returns the zero T.
func Get[T any](s *Session, key string) (T, error) {
	var v T
	if err := s.Decode(key, &v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// decodeValue encodes value as a save would and decodes the JSON into v.
func decodeValue(value, v any) error {
	if decodeScalar(value, v) {
		return nil
	}
	return roundTrip(value, v)
}

// roundTrip is decodeValue through encoding/json.
func roundTrip(value, v any) error {
	buf := getBuf()
	defer putBuf(buf)
	raw, err := appendJSON(buf.AvailableBuffer(), value)
	if err != nil {
		return wrapError(ErrInvalid, "unable to json encode session value", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return wrapError(ErrInvalid, "unable to json decode session value", err)
	}
	return nil
}

// compatValue returns v with the types it has always had when read from a
// cookie: every json.Number in it becomes a float64. A []any or
// map[string]any that holds one is copied; v is returned as it is
// otherwise.
func compatValue(v any) any {
	switch t := v.(type) {
	case json.Number:
		if f, err := strconv.ParseFloat(string(t), 64); err == nil {
			return f
		}
	case []any:
		if holdsNumber(t) {
			out := make([]any, len(t))
			for i, e := range t {
				out[i] = compatValue(e)
			}
			return out
		}
	case map[string]any:
		if holdsNumber(t) {
			out := make(map[string]any, len(t))
			for k, e := range t {
				out[k] = compatValue(e)
			}
			return out
		}
	}
	return v
}

// holdsNumber reports whether v holds a json.Number, at any depth.
func holdsNumber(v any) bool {
	switch t := v.(type) {
	case json.Number:
		return true
	case []any:
		for _, e := range t {
			if holdsNumber(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if holdsNumber(e) {
				return true
			}
		}
	}
	return false
}

// decodeScalar is decodeValue's round trip without encoding/json for the
// common scalar reads: a string into a *string, a bool into a *bool, a
// number (as a save writes it) into an *int64, *int or *float64, parsed
// with strconv as encoding/json parses a number literal into that type. It
// reports whether it decoded; it changes nothing when it does not (another
// type, a nil pointer, a string that is not valid UTF-8, a number that
// does not fit), and decodeValue then runs the round trip and reports its
// error.
func decodeScalar(value, v any) bool {
	switch p := v.(type) {
	case *string:
		s, ok := value.(string)
		if !ok || p == nil || !utf8.ValidString(s) {
			return false
		}
		*p = s
		return true
	case *bool:
		b, ok := value.(bool)
		if !ok || p == nil {
			return false
		}
		*p = b
		return true
	case *int64, *int, *float64:
		switch value.(type) {
		case float64, json.Number, int, int64, int32, uint, uint32, uint64:
		default:
			return false
		}
		var buf [32]byte
		text, err := appendJSON(buf[:0], value)
		if err != nil {
			return false
		}
		switch p := v.(type) {
		case *int64:
			n, err := strconv.ParseInt(string(text), 10, 64)
			if err != nil || p == nil {
				return false
			}
			*p = n
		case *int:
			n, err := strconv.ParseInt(string(text), 10, strconv.IntSize)
			if err != nil || p == nil {
				return false
			}
			*p = int(n)
		case *float64:
			f, err := strconv.ParseFloat(string(text), 64)
			if err != nil || p == nil {
				return false
			}
			*p = f
		}
		return true
	}
	return false
}
