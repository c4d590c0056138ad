package bench

import (
	"fmt"
	"strings"
)

// Work is a kind of work a cell does, one request at a time.
type Work int

// The kinds of work, in the order of the table's rows.
const (
	// New is a request without a session that sets 3 small values and saves.
	New Work = iota
	// Read is a request with a session of 3 small values that reads one.
	Read
	// Update is a request with that session that reads a value, sets one
	// and saves.
	Update
	// Large is Update on a session that also holds a 2,000-character blob.
	Large
	// LargeRead is Read on that large session.
	LargeRead
)

// Works lists every kind of work.
var Works = []Work{New, Read, Update, Large, LargeRead}

var workNames = [...]string{"new", "read", "update", "large", "large-read"}

var workTitles = [...]string{
	"new (save 3 small values)",
	"read",
	"update (open, set, save)",
	"large (3 values + 2,000-char blob, update)",
	"large read (3 values + 2,000-char blob)",
}

// String returns the work's short name: new, read, update, large or
// large-read.
func (w Work) String() string {
	if w < 0 || int(w) >= len(workNames) {
		return fmt.Sprintf("Work(%d)", int(w))
	}
	return workNames[w]
}

// Title returns the work's row title in the table.
func (w Work) Title() string {
	if w < 0 || int(w) >= len(workTitles) {
		return w.String()
	}
	return workTitles[w]
}

// ParseWork returns the Work named s (see Work.String).
func ParseWork(s string) (Work, error) {
	for i, n := range workNames {
		if n == s {
			return Work(i), nil
		}
	}
	return 0, fmt.Errorf("bench: unknown work %q (want one of %s)", s, strings.Join(workNames[:], ", "))
}

// large reports whether the work's session holds the blob.
func (w Work) large() bool { return w == Large || w == LargeRead }

// saves reports whether the work saves the session.
func (w Work) saves() bool { return w == New || w == Update || w == Large }

// blob is the large session's 2,000 characters: random base64url text
// (from a fixed xorshift sequence), which compresses about as a token or a
// list of ids does.
var blob = func() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b strings.Builder
	x := uint32(2463534242)
	for b.Len() < 2000 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b.WriteByte(alphabet[x%64])
	}
	return b.String()
}()

// data returns the session data the work starts from, as JSON decodes it
// (n is a float64).
func (w Work) data() map[string]any {
	d := map[string]any{"user": "alice", "role": "admin", "n": 42.0}
	if w.large() {
		d["blob"] = blob
	}
	return d
}
