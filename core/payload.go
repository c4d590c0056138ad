package session

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"io"
	"sync"
)

// The plaintext of a session is a JSON array with one entry per audience:
// [[data, audience, subject], ...], the subject left out when unset
// (SPEC §2). Key order inside data is not significant.

type entry struct {
	data       map[string]any
	audience   string
	subject    string
	hasSubject bool
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { b := bufPool.Get().(*bytes.Buffer); b.Reset(); return b }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		bufPool.Put(b)
	}
}

// appendJSONString appends s as a JSON string without HTML escaping, as the
// reference's cjson does.
func appendJSONString(b *bytes.Buffer, s string) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// encodeEntries appends the plaintext of entries to b.
func encodeEntries(b *bytes.Buffer, entries []entry) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	b.WriteByte('[')
	for i := range entries {
		e := &entries[i]
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		if len(e.data) == 0 {
			b.WriteString("{}")
		} else {
			if err := enc.Encode(e.data); err != nil {
				return err
			}
			b.Truncate(b.Len() - 1)
		}
		b.WriteByte(',')
		if err := enc.Encode(e.audience); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1)
		if e.hasSubject {
			b.WriteByte(',')
			if err := enc.Encode(e.subject); err != nil {
				return err
			}
			b.Truncate(b.Len() - 1)
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
	return nil
}

var errBadEntry = errors.New("malformed session entry")

// decodeEntries parses the plaintext of a session.
func decodeEntries(plaintext []byte) ([]entry, error) {
	var raw [][]json.RawMessage
	if err := json.Unmarshal(plaintext, &raw); err != nil {
		return nil, err
	}
	entries := make([]entry, 0, len(raw)+1)
	for _, r := range raw {
		if len(r) < 2 || len(r) > 3 {
			return nil, errBadEntry
		}
		var e entry
		if t := bytes.TrimSpace(r[0]); !bytes.Equal(t, []byte("[]")) && !bytes.Equal(t, []byte("null")) {
			if err := json.Unmarshal(r[0], &e.data); err != nil {
				return nil, err
			}
		}
		if e.data == nil {
			e.data = map[string]any{}
		}
		if err := json.Unmarshal(r[1], &e.audience); err != nil {
			return nil, err
		}
		if len(r) == 3 && !bytes.Equal(bytes.TrimSpace(r[2]), []byte("null")) {
			if err := json.Unmarshal(r[2], &e.subject); err != nil {
				return nil, err
			}
			e.hasSubject = true
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// maxInflatedSize bounds the output of inflate, so that a small cookie cannot
// expand into an unbounded amount of memory.
const maxInflatedSize = maxDataSize

var (
	flateWriters = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.DefaultCompression)
		return w
	}}
	flateReaders = sync.Pool{New: func() any { return flate.NewReader(nil) }}
)

// deflate appends the raw DEFLATE compression of src to dst.
func deflate(dst *bytes.Buffer, src []byte) error {
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	w.Reset(dst)
	if _, err := w.Write(src); err != nil {
		return err
	}
	return w.Close()
}

var errInflateTooLarge = errors.New("inflated data too large")

// inflate decompresses raw DEFLATE data.
func inflate(src []byte) ([]byte, error) {
	r := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(src), nil); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, maxInflatedSize+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxInflatedSize {
		return nil, errInflateTooLarge
	}
	return out, nil
}
