package session

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"sync"
)

// The plaintext of a session is a JSON array with one entry per audience:
// [[data, audience, subject], ...], the subject left out when unset. Key
// order inside data is not significant. An entry with revocation keys has
// them as a fourth element, [data, audience, subject, [keys...]], the
// subject false when unset (see appendRevocationKeys).

type entry struct {
	data       map[string]any
	audience   string
	subject    string
	hasSubject bool
	keys       []string // revocation keys (Session.SetRevocationKeys); replaced, never changed in place
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { b := bufPool.Get().(*bytes.Buffer); b.Reset(); return b }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		bufPool.Put(b)
	}
}

// encodeEntries appends the plaintext of entries to b. It fails, naming the
// field, when an audience, a subject, a data key or a string value is not
// valid UTF-8: it would come back changed (U+FFFD), and a subject changed on
// the way would index the session under another user. Strings inside values
// of other types (structs, typed slices and maps) are encoded by
// encoding/json, which replaces invalid UTF-8 silently; such values come
// back as encoding/json decodes them into an any anyway.
func encodeEntries(b *bytes.Buffer, entries []entry) error {
	out := b.AvailableBuffer()
	out = append(out, '[')
	for i := range entries {
		e := &entries[i]
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '[')
		if len(e.data) == 0 {
			out = append(out, "{}"...)
		} else {
			var err error
			if out, err = appendObject(out, e.data); err != nil {
				return err
			}
		}
		out = append(out, ',')
		var ok bool
		if out, ok = appendJSONString(out, e.audience); !ok {
			return fmt.Errorf("audience %q is %w", e.audience, errInvalidUTF8)
		}
		if e.hasSubject {
			out = append(out, ',')
			if out, ok = appendJSONString(out, e.subject); !ok {
				return fmt.Errorf("subject %q of audience %q is %w", e.subject, e.audience, errInvalidUTF8)
			}
		}
		if len(e.keys) > 0 {
			var err error
			if out, err = appendRevocationKeys(out, e); err != nil {
				return err
			}
		}
		out = append(out, ']')
	}
	out = append(out, ']')
	b.Write(out)
	return nil
}

var errBadEntry = errors.New("malformed session entry")

// decodeEntries parses the plaintext of a session.
func decodeEntries(plaintext []byte) ([]entry, error) {
	v, err := parseJSON(plaintext)
	if err != nil {
		return nil, err
	}
	raw, ok := v.([]any)
	if !ok {
		return nil, errBadEntry
	}
	entries := make([]entry, 0, len(raw)+1)
	for _, r := range raw {
		fields, ok := r.([]any)
		if !ok || len(fields) < 2 || len(fields) > 4 {
			return nil, errBadEntry
		}
		var e entry
		switch data := fields[0].(type) {
		case map[string]any:
			e.data = data
		case []any: // cjson writes an empty table as [] when so configured
			if len(data) != 0 {
				return nil, errBadEntry
			}
		case nil:
		default:
			return nil, errBadEntry
		}
		if e.data == nil {
			e.data = map[string]any{}
		}
		if e.audience, ok = fields[1].(string); !ok {
			return nil, errBadEntry
		}
		if len(fields) >= 3 && fields[2] != nil && fields[2] != false {
			if e.subject, ok = fields[2].(string); !ok {
				return nil, errBadEntry
			}
			e.hasSubject = true
		}
		if len(fields) == 4 {
			if e.keys, ok = decodeRevocationKeys(fields[3]); !ok {
				return nil, errBadEntry
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// Inflating is bounded at the scale of the storage, so that a small
// payload cannot expand into an unbounded amount of memory and time:
//
//   - cookie storage: nine 4096-byte cookies carry at most 27 KiB of
//     compressed data (base64url), and session JSON deflates far less than
//     64 times, so a cookie inflates to at most 64 times that, 1.7 MiB;
//   - a server-side store: the store's own bound on the data, 2^24-1 bytes.
//
// deflate refuses data above the cookie bound, so such data is saved
// uncompressed: with cookie storage it then does not fit (ErrTooLarge at
// the save, rather than a cookie that does not open), and with a store it
// is stored as it is. What a save wrote always opens.
const (
	maxCookieInflatedSize = maxCookies * maxCookieSize * 3 / 4 * 64
	maxStoreInflatedSize  = maxDataSize
)

var errDeflateTooLarge = errors.New("data too large to compress")

// deflate appends the raw DEFLATE compression of src to dst: the bytes zlib
// writes at its default level, as the reference does (see zdeflate), so
// that the same data makes the same cookies, as long and as many. When
// those are more than fit bytes (what nine cookies carry; fit < 0 is no
// bound), the reference could not save the session either, and deflate
// tries compress/flate's fastest level, which earlier versions used, and
// keeps the shorter: some data (long lists of numbers or hex ids) compress
// better that way, and what fitted before still does. It refuses src longer
// than maxCookieInflatedSize (see above).
func deflate(dst *bytes.Buffer, src []byte, fit int) error {
	if len(src) > maxCookieInflatedSize {
		return errDeflateTooLarge
	}
	start := dst.Len()
	deflater(dst, src)
	if fit >= 0 && dst.Len()-start > fit {
		fast := getBuf()
		defer putBuf(fast)
		flateFastest(fast, src)
		if fast.Len() < dst.Len()-start {
			dst.Truncate(start)
			dst.Write(fast.Bytes())
		}
	}
	return nil
}

// deflater is zdeflate but in BenchmarkSaveDeflated, which puts
// flateFastest, what earlier versions used, in its place to compare.
var deflater = zdeflate

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// flateFastest appends the raw DEFLATE compression of src to dst at
// compress/flate's fastest level.
func flateFastest(dst *bytes.Buffer, src []byte) {
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(dst)
	w.Write(src) // a bytes.Buffer does not fail
	w.Close()
}

// cookieDeflateLimit is the most compressed data that nine cookies named
// with nameSize bytes carry (see chunkCount).
func cookieDeflateLimit(nameSize int) int {
	chars := maxCookies*maxCookieSize - (nameSize + 1 + headerEncodedSize) - (maxCookies-1)*(nameSize+2)
	return chars * 3 / 4
}

var errInflateTooLarge = errors.New("inflated data too large")

// inflate decompresses raw DEFLATE data into at most limit bytes; more is
// errInflateTooLarge. It returns a new slice (see zinflate).
func inflate(src []byte, limit int) ([]byte, error) {
	return zinflate(nil, src, limit)
}

// inflateBufs holds the buffers that opening a session inflates into: the
// plaintext is decoded into new values (strings are copied), so the buffer
// goes back when the open is done.
var inflateBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// inflateTemp inflates src as inflate does, into a pooled buffer that
// releaseInflated gives back; the result must not be used after that.
func inflateTemp(src []byte, limit int) (out []byte, buf *[]byte, err error) {
	buf = inflateBufs.Get().(*[]byte)
	if out, err = zinflate((*buf)[:0], src, limit); err != nil {
		inflateBufs.Put(buf)
		return nil, nil, err
	}
	return out, buf, nil
}

// releaseInflated gives back the buffer of inflateTemp, grown to out when
// not too large to keep.
func releaseInflated(buf *[]byte, out []byte) {
	if cap(out) <= 64<<10 {
		*buf = out[:0]
	}
	inflateBufs.Put(buf)
}
