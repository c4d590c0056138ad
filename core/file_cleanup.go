package session

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Cleanup removes the record files that have expired at now, rewrites the
// index files that hold replaced, deleted or expired entries (removing
// those left with none), drops the group members and links of records that
// are gone, removes expired revocation marks, the expired files of the
// previous layout (see docs/stores.md) and temporary files left by crashed
// writers, and returns how many records it removed. The cleaner goroutine
// calls it; call it yourself to clean up on your own schedule.
//
// It takes for a record only a file named [prefix_]name_key[.suffix] with
// a key of 43 base64url characters (the session library's keys), and for
// an index only a file named [prefix_]name_audience:subject[.suffix] that
// holds index entries and nothing else: like the reference's cleanup, it
// would still remove an unrelated file of such a name whose modification
// time has passed. Give the store a directory of its own.
func (s *FileStore) Cleanup(now time.Time) (int, error) {
	t := s.now(now)
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fileError("unable to list directory", err)
	}
	removed := 0
	for _, d := range entries {
		base := d.Name()
		if d.IsDir() {
			n, err := s.cleanupLegacy(base, t)
			removed += n
			if err != nil {
				return removed, err
			}
			continue
		}
		if !d.Type().IsRegular() || removeDebris(s.dir, d) {
			continue
		}
		mid, ok := s.stripAffixes(base)
		if !ok {
			continue
		}
		path := filepath.Join(s.dir, base)
		if i := strings.IndexByte(mid, ':'); i > 0 {
			if strings.IndexByte(mid[:i], '_') > 0 {
				if err := s.cleanupIndex(path, t); err != nil {
					return removed, err
				}
			}
			continue
		}
		if s.cleanableRecord(mid) {
			if exp, ok := recordExpiry(path); ok && exp <= t && s.removeExpired(path, t) {
				removed++
			}
		}
	}
	dir := filepath.Join(s.dir, fileIndexDir)
	files, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return removed, fileError("unable to list indexes", err)
	}
	for _, f := range files {
		if removeDebris(dir, f) || !validIndexHash(f.Name()) {
			continue
		}
		if err := s.cleanupIndex(filepath.Join(dir, f.Name()), t); err != nil {
			return removed, err
		}
	}
	if err := s.cleanupMarks(t); err != nil {
		return removed, err
	}
	if err := s.cleanupGroups(); err != nil {
		return removed, err
	}
	return removed, s.cleanupGroupInfo()
}

// cleanupIndex compacts the index at path, leaving alone a file that is
// not entirely an index.
func (s *FileStore) cleanupIndex(path string, t int64) error {
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	return s.compactIndex(path, t, true)
}

// cleanableRecord reports whether mid, a file name without the store's
// prefix and suffix, is name_key with a 43-character base64url key.
func (s *FileStore) cleanableRecord(mid string) bool {
	const keyLen = 43
	if len(mid) < keyLen+2 || mid[len(mid)-keyLen-1] != '_' {
		return false
	}
	return validStorageKey(mid[len(mid)-keyLen:]) && validRecordName(mid[:len(mid)-keyLen-1])
}

func validIndexHash(name string) bool {
	_, err := hex.DecodeString(name)
	return err == nil && len(name) == 64
}

// removeDebris reports whether the entry f of dir is a temporary file, and
// removes it when it is older than fileTmpMaxAge: a write that crashed.
func removeDebris(dir string, f fs.DirEntry) bool {
	if !strings.HasPrefix(f.Name(), fileTmpPrefix) {
		return false
	}
	if info, err := f.Info(); err == nil && time.Since(info.ModTime()) > fileTmpMaxAge {
		os.Remove(filepath.Join(dir, f.Name()))
	}
	return true
}

// The previous layout: dir/<hex(name)>/r<hex(key)> held a record, starting
// with the line "sessiongo-record <expiry in Unix ns>[ <group>]", and
// dir/<hex(name)>/i<hex> an index, one "<key> <expiry in Unix ns>" line per
// session. This store no longer reads them; Cleanup removes them once
// expired, then their directory once empty.
const fileLegacyMagic = "sessiongo-record "

// cleanupLegacy removes the expired files of the legacy name directory
// base (anything else is left alone) and returns how many records it
// removed.
func (s *FileStore) cleanupLegacy(base string, t int64) (int, error) {
	raw, err := hex.DecodeString(base)
	if err != nil || base == "" || strings.ToLower(base) != base || !validPart(string(raw)) {
		return 0, nil
	}
	dir := filepath.Join(s.dir, base)
	files, err := os.ReadDir(dir)
	if err != nil {
		return 0, fileError("unable to list directory", err)
	}
	removed := 0
	for _, f := range files {
		name := f.Name()
		if removeDebris(dir, f) || !f.Type().IsRegular() || len(name) < 2 {
			continue
		}
		if _, err := hex.DecodeString(name[1:]); err != nil {
			continue
		}
		path := filepath.Join(dir, name)
		switch name[0] {
		case 'r':
			if exp, ok := legacyRecordExpiry(path); ok && exp <= t && os.Remove(path) == nil {
				removed++
			}
		case 'i':
			if legacyIndexExpired(path, t) {
				os.Remove(path)
			}
		}
	}
	os.Remove(dir) // only once empty
	return removed, nil
}

// legacyRecordExpiry reads the expiry on the first line of a legacy
// record file; ok is false when it is not one.
func legacyRecordExpiry(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var buf [128]byte
	n, _ := io.ReadFull(f, buf[:])
	line, _, found := bytes.Cut(buf[:n], []byte{'\n'})
	rest, magic := bytes.CutPrefix(line, []byte(fileLegacyMagic))
	if !found || !magic {
		return 0, false
	}
	head, _, _ := bytes.Cut(rest, []byte{' '})
	exp, err := strconv.ParseInt(string(head), 10, 64)
	return exp, err == nil
}

// legacyIndexExpired reports whether the legacy index at path holds only
// entries expired at t.
func legacyIndexExpired(path string, t int64) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		_, e, ok := strings.Cut(sc.Text(), " ")
		exp, err := strconv.ParseInt(e, 10, 64)
		if !ok || err != nil || exp > t {
			return false
		}
	}
	return sc.Err() == nil
}
