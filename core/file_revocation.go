package session

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sessiongo/session/core/store"
)

// Revocation marks of a FileStore: one file per key,
// dir/revoked/<hex(key)>, holding the line
// "sessiongo-mark <At in unix seconds> <expiry in unix nanoseconds>". A
// write goes through a temporary file renamed into place, under the file's
// lock in this process; processes that share the directory may, when they
// mark the same key at the same instant, keep either of the two marks
// rather than the later At and expiry of both.

const (
	fileMarksDir  = "revoked" // not hex, so Cleanup never takes it for a legacy name directory
	fileMarkMagic = "sessiongo-mark "
)

func (s *FileStore) markPath(key string) string {
	return filepath.Join(s.dir, fileMarksDir, hex.EncodeToString([]byte(key)))
}

// readMark reads a mark file; ok is false when it is missing, err set when
// it cannot be read or is corrupt.
func readMark(path string) (at, expires int64, ok bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, 0, false, nil
		}
		return 0, 0, false, fileError("unable to read revocation mark", err)
	}
	line, found := bytes.CutPrefix(bytes.TrimSuffix(data, []byte("\n")), []byte(fileMarkMagic))
	a, e, sep := strings.Cut(string(line), " ")
	if !found || !sep {
		return 0, 0, false, fileError("corrupt revocation mark file", nil)
	}
	if at, err = strconv.ParseInt(a, 10, 64); err == nil {
		expires, err = strconv.ParseInt(e, 10, 64)
	}
	if err != nil {
		return 0, 0, false, fileError("corrupt revocation mark file", err)
	}
	return at, expires, true, nil
}

// Revoke writes revocation marks, each for mark.TTL from now (the store's
// clock when now is zero). A key that already has a live mark keeps the
// later of the two At values and the later expiry. Keys follow the rules
// of storage keys (1 to 127 printable ASCII bytes, ...); an invalid key, or
// a mark without a TTL or an At, fails with an error matching ErrStore
// before anything is written. It implements store.Revoker.
func (s *FileStore) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, mk := range marks {
		if !validPart(mk.Key) {
			return invalidPart("revocation key", mk.Key)
		}
	}
	if !validMarks(marks) {
		return fileError("invalid revocation mark (want a key, a positive TTL and an At)", nil)
	}
	t := s.now(now)
	for _, mk := range marks {
		if err := s.revokeOne(mk, t); err != nil {
			return err
		}
	}
	return nil
}

func (s *FileStore) revokeOne(mk store.Mark, t int64) error {
	path := s.markPath(mk.Key)
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	at, expires := mk.At.Unix(), t+int64(mk.TTL)
	if oldAt, oldExpires, ok, _ := readMark(path); ok && oldExpires > t {
		at, expires = max(at, oldAt), max(expires, oldExpires)
	}
	line := fileMarkMagic + strconv.FormatInt(at, 10) + " " + strconv.FormatInt(expires, 10) + "\n"
	return s.writeAtomic(filepath.Dir(path), path, []byte(line), time.Time{})
}

// Revoked returns, for each key, the At of its live mark at now (the
// store's clock when now is zero), or the zero Time; it reads one file per
// key. An unreadable or corrupt mark file is an error (the answer is
// unknown). It implements store.Revoker.
func (s *FileStore) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := s.now(now)
	out := make([]time.Time, len(keys))
	for i, k := range keys {
		if !validPart(k) {
			return nil, invalidPart("revocation key", k)
		}
		at, expires, ok, err := readMark(s.markPath(k))
		if err != nil {
			return nil, err
		}
		if ok && expires > t {
			out[i] = time.Unix(at, 0)
		}
	}
	return out, nil
}

// cleanupMarks removes the mark files expired at t and stale temporary
// files of the marks directory.
func (s *FileStore) cleanupMarks(t int64) error {
	dir := filepath.Join(s.dir, fileMarksDir)
	files, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fileError("unable to list revocation marks", err)
	}
	for _, f := range files {
		path := filepath.Join(dir, f.Name())
		if removeDebris(dir, f) {
			continue
		}
		if _, expires, ok, _ := readMark(path); !ok || expires > t {
			continue
		}
		mu := s.lock(path)
		mu.Lock()
		if _, expires, ok, _ := readMark(path); ok && expires <= t {
			os.Remove(path)
		}
		mu.Unlock()
	}
	return nil
}

var _ store.Revoker = (*FileStore)(nil)
