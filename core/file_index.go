package session

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// The subject index of a FileStore, in the reference's format: one file
// per cookie name, audience and subject, dir/[prefix_]name_audience:subject[.suffix],
// holding a list of entries, each "key:exp;" (a session and its expiry in
// Unix seconds, 5 little-endian bytes in base64url) or "key;" (the key was
// replaced or deleted). Entries are only ever appended, with one write each,
// so that the appends of several processes and of the reference never
// undo each other. Read in order, the last entry of a key says whether it
// is live (an expiry after now) or not.
//
// The reference sets the file's modification time, after each append, to
// the later of now and the new entry's expiry: now after a key is replaced
// or deleted, although other entries still live. Its cleanup deletes the
// files whose modification time has passed, an index of live sessions
// among them. This store sets it to the later of now and the expiry of the
// longest-lived entry, so that the reference's cleanup leaves the index
// alone while it lists a live session (until the reference appends to it
// again).
//
// An index that a write finds larger than fileIndexCompact and mostly dead
// is rewritten with its live entries only (Cleanup rewrites any index that
// holds dead entries, and removes those left with none).

const (
	fileIndexDir     = "index"   // indexes whose name cannot be a file name; not hex, so no legacy name directory
	fileIndexCompact = 8 << 10   // an index larger than this is compacted by the write that finds it mostly dead
	fileIndexMaxExp  = 1<<40 - 1 // the largest expiry 5 bytes hold
)

// testHookIndexRewritten, set by tests, runs between the rewrite of an
// index and the check for entries appended meanwhile.
var testHookIndexRewritten func(path string)

// fileColonNames reports whether ':' may be part of a file name: not on
// Windows, where it names an alternate data stream. There every index
// lives in dir/index.
var fileColonNames = runtime.GOOS != "windows"

// indexPath is the path of the index of an encoded audience and subject
// under the cookie name name (valid): the reference's name, or, when the
// pair cannot be part of a file name (a separator, a control byte, more
// than 255 bytes in all), dir/index/<hex(SHA-256 of the store's prefix and
// suffix, name, audience and subject)>, where the reference never looks:
// it could not have written such an index either.
func (s *FileStore) indexPath(name, audience, subject string) string {
	if fileColonNames && validIndexPart(audience, false) && validIndexPart(subject, true) {
		if base := s.fileName(name, audience+":"+subject); len(base) <= fileMaxName {
			return filepath.Join(s.dir, base)
		}
	}
	h := sha256.New()
	for _, p := range [...]string{s.prefix, s.suffix, name, audience, subject} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return filepath.Join(s.dir, fileIndexDir, hex.EncodeToString(h.Sum(nil)))
}

// validIndexPart reports whether an audience (colon false) or a subject
// (colon true) can be part of an index file name. The audience never holds
// a ':', so "audience:subject" names one pair only.
func validIndexPart(p string, colon bool) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !fileNameByte(p[i]) || p[i] == ':' && !colon {
			return false
		}
	}
	return true
}

// indexEntry is the entry of a live session: "key:exp;", exp in Unix
// seconds.
func indexEntry(key string, exp int64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(min(max(exp, 0), fileIndexMaxExp)))
	return key + ":" + base64.RawURLEncoding.EncodeToString(b[:5]) + ";"
}

// expirySeconds is an expiry in Unix nanoseconds rounded up to the second,
// as index entries hold it.
func expirySeconds(expires int64) int64 {
	sec := unixSeconds(expires)
	if sec*int64(time.Second) != expires {
		sec++
	}
	return sec
}

// unixSeconds is floor(t / 1e9) for Unix nanoseconds t.
func unixSeconds(t int64) int64 {
	q := t / int64(time.Second)
	if t%int64(time.Second) < 0 {
		q--
	}
	return q
}

// indexTombstone is the entry of a replaced or deleted session: "key;".
func indexTombstone(key string) string { return key + ";" }

// indexKey is a live entry of an index.
type indexKey struct {
	key string
	exp int64 // Unix seconds
}

// indexState is what an index says at a time.
type indexState struct {
	live   []indexKey // in the order of their first entry
	maxExp int64      // the latest expiry of a live entry (Unix seconds), 0 if none
}

// encode writes the live entries, the compacted index.
func (x *indexState) encode() []byte {
	var b bytes.Buffer
	for _, e := range x.live {
		b.WriteString(indexEntry(e.key, e.exp))
	}
	return b.Bytes()
}

// size is the length of the compacted index.
func (x *indexState) size() int {
	n := 0
	for _, e := range x.live {
		n += len(e.key) + 9
	}
	return n
}

// mtime is the modification time of an index at now: the later of now and
// its longest-lived entry's expiry.
func (x *indexState) mtime(now int64) time.Time {
	t := time.Unix(0, now)
	if e := time.Unix(x.maxExp, 0); e.After(t) {
		return e
	}
	return t
}

// parseIndex reads an index at now (Unix nanoseconds). An entry that is
// not "key:exp;" or "key;" with a base64url key and a 7-character expiry
// is skipped, or, when strict, makes ok false: the file is not an index.
func parseIndex(data []byte, now int64, strict bool) (idx indexState, ok bool) {
	nowSec := unixSeconds(now) // an entry lives while exp > now, that is exp > nowSec
	pos := map[string]int{}    // key -> index in order, -1 once dead
	var order []indexKey
	rest := data
	for len(rest) > 0 {
		seg, after, found := bytes.Cut(rest, []byte{';'})
		rest = after
		if !found { // a torn last entry
			if strict {
				return indexState{}, false
			}
			break
		}
		key, exp, hasExp := strings.Cut(string(seg), ":")
		if !validStorageKey(key) {
			if strict {
				return indexState{}, false
			}
			continue
		}
		sec := int64(-1)
		if hasExp {
			var b [8]byte
			if len(exp) != 7 {
				sec = -2
			} else if n, err := base64.RawURLEncoding.Decode(b[:], []byte(exp)); err != nil || n != 5 {
				sec = -2
			} else {
				sec = int64(binary.LittleEndian.Uint64(b[:]))
			}
			if sec == -2 {
				if strict {
					return indexState{}, false
				}
				continue
			}
		}
		i, seen := pos[key]
		switch {
		case sec > nowSec: // live
			if seen && i >= 0 {
				order[i].exp = sec
			} else {
				pos[key] = len(order)
				order = append(order, indexKey{key, sec})
			}
		case seen && i >= 0: // replaced, deleted or expired
			order[i].key = ""
			pos[key] = -1
		}
	}
	for _, e := range order {
		if e.key != "" {
			idx.live = append(idx.live, e)
			idx.maxExp = max(idx.maxExp, e.exp)
		}
	}
	return idx, true
}

// readIndex reads the index at path at now, compacting it when it holds
// dead entries.
func (s *FileStore) readIndex(path string, now int64) (indexState, error) {
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	data, err := readNoFollow(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return indexState{}, nil
		}
		return indexState{}, fileError("unable to read index", err)
	}
	idx, _ := parseIndex(data, now, false)
	if idx.size() < len(data) {
		if err := s.compactIndex(path, now, false); err != nil {
			return indexState{}, err
		}
	}
	return idx, nil
}

// appendIndex appends entries to the index at path with one write, then
// sets its modification time, and compacts it when it is large and mostly
// dead.
func (s *FileStore) appendIndex(path, entries string, now int64) error {
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	if err := s.appendFile(path, []byte(entries)); err != nil {
		return fileError("unable to write index", err)
	}
	data, err := readNoFollow(path)
	if err != nil {
		return fileError("unable to read index", err)
	}
	idx, _ := parseIndex(data, now, false)
	if len(data) > fileIndexCompact && idx.size() < len(data)/2 {
		return s.compactIndex(path, now, false)
	}
	if err := setMtime(path, idx.mtime(now)); err != nil {
		return fileError("unable to set index time", err)
	}
	return nil
}

// setMtime sets the modification time of the regular file at path, never
// through a symbolic link.
func setMtime(path string, mtime time.Time) error {
	info, err := os.Lstat(path)
	if err == nil && !info.Mode().IsRegular() {
		err = errNotRegular
	}
	if err == nil {
		err = os.Chtimes(path, time.Time{}, mtime)
	}
	return err
}

// readNoFollow reads the file at path, not through a symbolic link.
func readNoFollow(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|fileNoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// appendFile appends data to path, created when missing (as its directory
// is), with one write.
func (s *FileStore) appendFile(path string, data []byte) error {
	const flags = os.O_WRONLY | os.O_APPEND | os.O_CREATE | fileNoFollow
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
			f, err = os.OpenFile(path, flags, 0o600)
		}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// compactIndex rewrites the index at path with its live entries at now,
// or removes it when none is left; the caller holds path's lock. Strict,
// it leaves a file that is not entirely an index alone. Entries that
// another process appends to the old file while it is being replaced are
// appended again to the new one; only an entry written to the old file
// after that catch-up, by a process that opened it just before the rename,
// is lost: a window of microseconds that only another process (the
// reference, or another sessiongo process) can hit.
func (s *FileStore) compactIndex(path string, now int64, strict bool) error {
	f, err := os.OpenFile(path, os.O_RDONLY|fileNoFollow, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fileError("unable to read index", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return fileError("unable to read index", err)
	}
	idx, ok := parseIndex(data, now, strict)
	if !ok {
		return nil
	}
	content := idx.encode()
	switch {
	case bytes.Equal(content, data):
		err = setMtime(path, idx.mtime(now))
	case len(idx.live) == 0:
		err = os.Remove(path)
	default:
		err = s.writeAtomic(filepath.Dir(path), path, content, idx.mtime(now))
	}
	if err != nil {
		return fileError("unable to rewrite index", err)
	}
	if testHookIndexRewritten != nil {
		testHookIndexRewritten(path)
	}
	// f still reads the old file: what it holds past data was appended
	// meanwhile.
	tail, err := io.ReadAll(f)
	if err != nil || len(tail) == 0 {
		return nil
	}
	if err := s.appendFile(path, tail); err != nil {
		return fileError("unable to write index", err)
	}
	if data, err = readNoFollow(path); err == nil {
		idx, _ = parseIndex(data, now, false)
		err = setMtime(path, idx.mtime(now))
	}
	if err != nil {
		return fileError("unable to set index time", err)
	}
	return nil
}
