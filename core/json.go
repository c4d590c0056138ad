package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A JSON encoder and decoder for session data, the hot path of every open
// and save. They produce and accept exactly what encoding/json does for
// map[string]any (sorted keys, the same number and string formatting, no HTML
// escaping; float64, string, bool, nil, []any and map[string]any when
// decoding) without reflection and with one pass over the input, with one
// difference: numbers never change on the way.
//
// A number decodes to a float64 when its text is what encoding/json writes
// for that float64 (42, 0.1, 1e+21: every number written from a float64, and
// every integer up to 2^53), so that the float64 gives the text back
// exactly. Any other number (an integer beyond 2^53 such as
// 9007199254740993, or text another encoder wrote differently, such as 1.0
// or 1.5e-07) decodes to a json.Number holding its text, which the encoder
// writes back unchanged: a value saved again is saved as it was read, and
// Session.Decode reads the exact text. Values of other types are encoded
// with encoding/json. Differential fuzz tests keep the two in agreement.

// appendJSON appends the JSON encoding of v to b.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		b, ok := appendJSONString(b, v)
		if !ok {
			return b, errInvalidUTF8
		}
		return b, nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case float64:
		return appendFloat(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case json.Number:
		return appendNumber(b, v)
	case map[string]any:
		return appendObject(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	raw, err := marshalNoEscape(v)
	if err != nil {
		return b, err
	}
	return append(b, raw...), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	buf := getBuf()
	defer putBuf(buf)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return slices.Clone(buf.Bytes()[:buf.Len()-1]), nil
}

func appendObject(b []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendJSONString(b, k); !ok {
			return b, fmt.Errorf("data key %q is %w", k, errInvalidUTF8)
		}
		b = append(b, ':')
		var err error
		if b, err = appendJSON(b, m[k]); err != nil {
			return b, fmt.Errorf("data key %q: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

var errJSONFloat = errors.New("json: unsupported value: NaN or Inf")

// appendNumber writes n as its text, as encoding/json does: "" is 0, and
// text that is not a JSON number is an error.
func appendNumber(b []byte, n json.Number) ([]byte, error) {
	if n == "" {
		return append(b, '0'), nil
	}
	if end, ok := scanNumber(n, 0); !ok || end != len(n) {
		return b, fmt.Errorf("json: invalid number literal %q", string(n))
	}
	return append(b, n...), nil
}

// appendFloat formats like encoding/json.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, errJSONFloat
	}
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	b = strconv.AppendFloat(b, f, fmt, -1, 64)
	if fmt == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// errInvalidUTF8 reports a string that would not come back as it went in:
// JSON carries Unicode text only, and invalid UTF-8 is written as U+FFFD.
var errInvalidUTF8 = errors.New("not valid UTF-8")

// appendJSONString quotes s like encoding/json without HTML escaping. ok is
// false when s is not valid UTF-8: its invalid bytes were written as U+FFFD,
// as encoding/json does, so s would not decode to itself.
func appendJSONString(b []byte, s string) (_ []byte, ok bool) {
	ok = true
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			ok = false
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"'), ok
}

// jsonParser decodes JSON into the values encoding/json produces for an
// any: float64, string, bool, nil, []any and map[string]any; numbers that a
// float64 would change are json.Number (see above).
type jsonParser struct {
	data []byte
	pos  int
}

var errJSONSyntax = errors.New("invalid JSON")

const maxJSONDepth = 10000 // encoding/json's nesting limit

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, errJSONSyntax
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.string()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, errJSONSyntax
}

func (p *jsonParser) literal(lit string) error {
	if len(p.data)-p.pos < len(lit) || string(p.data[p.pos:p.pos+len(lit)]) != lit {
		return errJSONSyntax
	}
	p.pos += len(lit)
	return nil
}

func (p *jsonParser) object(depth int) (map[string]any, error) {
	if depth > maxJSONDepth {
		return nil, errJSONSyntax
	}
	p.pos++ // '{'
	m := map[string]any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return m, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, errJSONSyntax
		}
		key, err := p.string()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, errJSONSyntax
		}
		p.pos++
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		m[key] = v
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errJSONSyntax
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return m, nil
		default:
			return nil, errJSONSyntax
		}
	}
}

func (p *jsonParser) array(depth int) ([]any, error) {
	if depth > maxJSONDepth {
		return nil, errJSONSyntax
	}
	p.pos++ // '['
	a := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return a, nil
	}
	for {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errJSONSyntax
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return a, nil
		default:
			return nil, errJSONSyntax
		}
	}
}

func (p *jsonParser) number() (any, error) {
	start := p.pos
	end, ok := scanNumber(p.data, start)
	if !ok {
		return nil, errJSONSyntax
	}
	p.pos = end
	text := p.data[start:end]
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		return nil, err
	}
	if canonicalNumber(text, f) {
		return f, nil
	}
	return json.Number(text), nil
}

// scanNumber returns the end of the JSON number that starts at d[i], and
// whether there is one.
func scanNumber[T ~string | ~[]byte](d T, i int) (end int, ok bool) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return i, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return i, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	return i, true
}

// canonicalNumber reports whether text, a JSON number that parses to f, is
// exactly what appendFloat writes for f, so that f stands for it.
func canonicalNumber(text []byte, f float64) bool {
	// Integers of up to 15 digits are exact in a float64 and written back
	// digit for digit: the common case, without formatting.
	digits := text
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) <= 15 {
		integer := true
		for _, c := range digits {
			if c < '0' || c > '9' {
				integer = false
				break
			}
		}
		if integer {
			return true
		}
	}
	var buf [32]byte
	b, err := appendFloat(buf[:0], f)
	return err == nil && string(b) == string(text)
}

func (p *jsonParser) string() (string, error) {
	d := p.data
	i := p.pos + 1 // past '"'
	start := i
	// fast path: no escapes, ASCII or valid UTF-8
	for i < len(d) {
		c := d[i]
		if c == '"' {
			p.pos = i + 1
			if utf8.Valid(d[start:i]) {
				return string(d[start:i]), nil
			}
			return string([]rune(string(d[start:i]))), nil // invalid bytes become U+FFFD
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	if i >= len(d) || d[i] < 0x20 && d[i] != '\\' {
		return "", errJSONSyntax
	}
	// slow path with escapes
	out := make([]byte, 0, i-start+16)
	out = append(out, d[start:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			if !utf8.Valid(out) {
				return string([]rune(string(out))), nil
			}
			return string(out), nil
		case c < 0x20:
			return "", errJSONSyntax
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		i++
		if i >= len(d) {
			return "", errJSONSyntax
		}
		switch d[i] {
		case '"', '\\', '/':
			out = append(out, d[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(d, i+1)
			if !ok {
				return "", errJSONSyntax
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(-1), false
				if i+6 < len(d) && d[i+1] == '\\' && d[i+2] == 'u' {
					r2, ok2 = hex4(d, i+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", errJSONSyntax
		}
		i++
	}
	return "", errJSONSyntax
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// parseJSON decodes one JSON document.
func parseJSON(data []byte) (any, error) {
	p := jsonParser{data: data}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(data) {
		return nil, errJSONSyntax
	}
	return v, nil
}
