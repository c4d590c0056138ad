package session

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/session/core/store"
)

// FileStore is a Store that keeps one file per record under a directory,
// the counterpart of the reference library's file store, with a subject
// index (it implements store.SubjectIndex) kept in files too. It is safe for
// concurrent use within a process, and several processes may share a
// directory: every write goes to a temporary file that is renamed into
// place, so readers see a whole record or none.
//
// Layout: dir/<hex(name)>/r<hex(key)> holds a record,
// dir/<hex(name)>/i<hex(SHA-256(audience, subject))> the index of one
// audience and subject, and dir/groups/<group> the members of one group of
// records (one browser session, see Store.Set). A record file starts with
// the line "sessiongo-record <expiry in unix nanoseconds> <group>", then the
// value; an index file has one "<key> <expiry>" line per session, a group
// file one "<hex(name)> <key>" line per record. Groups are kept consistent
// under locks of this process: processes that share a directory may, in a
// race between a save in one and a delete in another, leave a record of a
// deleted group behind. Expiry is judged against
// the Now of each call, not the file's modification time. Names and keys
// are hex-encoded, so no name or key can reach outside the directory, and
// they are also validated: 1 to 127 bytes of printable ASCII without
// spaces, '/', '\' or "..". Others are rejected with an error. Audiences
// and subjects, of any length, only ever appear hashed.
//
// Context cancellation is checked when a call starts: a cancelled call
// changes nothing and returns the context's error.
type FileStore struct {
	dir   string
	clock func() time.Time
	sync  bool

	locks  [64]sync.Mutex // striped by record or index file path
	glocks [64]sync.Mutex // striped by group; taken before locks
	dirs   sync.Map       // name directories known to exist

	cleaner
}

const (
	fileMagic      = "sessiongo-record "
	fileMaxPart    = 127
	fileTmpPrefix  = ".tmp-"
	fileTmpMaxAge  = time.Hour // temporary files older than this are debris
	fileRecordChar = 'r'
	fileIndexChar  = 'i'
)

var errFileNotFound = newError(ErrNotFound, "file store: no such record")

// NewFileStore returns a FileStore keeping its files under dir, which is
// created (mode 0700) when missing. It takes the options
// WithCleanupInterval, WithClock and WithSync; any other option, or a bad
// value, is an error matching ErrInvalidConfig, as are an empty dir and one
// that cannot be created. With WithCleanupInterval it starts a cleaner
// goroutine: call Stop when done with the store.
func NewFileStore(dir string, opts ...StoreOption) (*FileStore, error) {
	o, err := newStoreOptions("file store", false, opts)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, configError("file store: empty directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, configError("file store: %w", err)
	}
	s := &FileStore{dir: dir, clock: o.clock, sync: o.sync}
	if o.cleanup > 0 {
		s.startCleaner(o.cleanup, func() { s.Cleanup(s.clock()) }) //nolint:errcheck // the next pass retries
	}
	return s, nil
}

// Dir returns the directory the store keeps its files in.
func (s *FileStore) Dir() string { return s.dir }

// validPart reports whether a name, key, audience or subject can be stored.
func validPart(p string) bool {
	if len(p) == 0 || len(p) > fileMaxPart || strings.Contains(p, "..") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}

func fileError(msg string, err error) error { return wrapError(ErrStore, "file store: "+msg, err) }

func invalidPart(what, p string) error {
	return fileError("invalid "+what+" "+strconv.Quote(p)+" (want 1 to 127 printable ASCII bytes without spaces, '/', '\\' or \"..\")", nil)
}

func (s *FileStore) nameDir(name string) string {
	return filepath.Join(s.dir, hex.EncodeToString([]byte(name)))
}

func (s *FileStore) recordPath(name, key string) string {
	return filepath.Join(s.nameDir(name), string(fileRecordChar)+hex.EncodeToString([]byte(key)))
}

func (s *FileStore) indexPath(name, audience, subject string) string {
	sum := sha256.Sum256([]byte(audience + "\x00" + subject))
	return filepath.Join(s.nameDir(name), string(fileIndexChar)+hex.EncodeToString(sum[:]))
}

func (s *FileStore) lock(path string) *sync.Mutex {
	return &s.locks[fnv1a(path)%uint64(len(s.locks))]
}

func (s *FileStore) now(t time.Time) int64 {
	if t.IsZero() {
		t = s.clock()
	}
	return t.UnixNano()
}

// Get returns the value stored under name and key; a missing or expired
// record (judged against opts.Now) is an error matching ErrNotFound. An
// expired record's file is removed.
func (s *FileStore) Get(ctx context.Context, name, key string, opts store.GetOptions) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validPart(name) {
		return nil, invalidPart("name", name)
	}
	if !validPart(key) {
		return nil, invalidPart("key", key)
	}
	now := s.now(opts.Now)
	path := s.recordPath(name, key)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errFileNotFound
		}
		return nil, fileError("unable to read record", err)
	}
	expires, _, value, err := parseRecord(data)
	if err != nil {
		return nil, err
	}
	if expires <= now {
		s.removeExpired(path, now)
		return nil, errFileNotFound
	}
	return value, nil
}

// parseRecord splits a record file into its expiry, group and value. The
// group is empty in records written before groups existed.
func parseRecord(data []byte) (expires int64, group string, value []byte, err error) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 || !bytes.HasPrefix(data, []byte(fileMagic)) {
		return 0, "", nil, fileError("corrupt record file", nil)
	}
	head, group, _ := strings.Cut(string(data[len(fileMagic):i]), " ")
	expires, err = strconv.ParseInt(head, 10, 64)
	if err != nil {
		return 0, "", nil, fileError("corrupt record file", err)
	}
	return expires, group, data[i+1:], nil
}

// recordHeader is the first line of a record file.
func recordHeader(expires int64, group string) []byte {
	return []byte(fileMagic + strconv.FormatInt(expires, 10) + " " + group + "\n")
}

// readHead reads the expiry and group of a record file; ok is false when
// the file is missing or corrupt.
func readHead(path string) (expires int64, group string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", false
	}
	defer f.Close()
	var buf [128]byte
	n, _ := io.ReadFull(f, buf[:])
	i := bytes.IndexByte(buf[:n], '\n')
	if i < 0 {
		return 0, "", false
	}
	expires, group, _, err = parseRecord(buf[:i+1])
	return expires, group, err == nil
}

// readExpiry reads the expiry of a record file; ok is false when the file
// is missing or corrupt.
func readExpiry(path string) (expires int64, ok bool) {
	expires, _, ok = readHead(path)
	return expires, ok
}

// removeExpired removes a record file if it is still expired at now, under
// the file's lock so that a concurrent Set is never undone.
func (s *FileStore) removeExpired(path string, now int64) bool {
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	if exp, ok := readExpiry(path); ok && exp <= now {
		return os.Remove(path) == nil
	}
	return false
}

// Set writes value under name and key for opts.TTL from opts.Now,
// shortens the life of the opts.OldKey record to opts.StaleTTL (removing it
// when StaleTTL is not positive), and updates the subject index of
// opts.Metadata. The record joins the group of opts.Partner or
// opts.OldKey; when that record is not readable, nothing is written and the
// error matches ErrNotFound. With opts.Replace only the value of an
// existing record changes.
func (s *FileStore) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validPart(name) {
		return invalidPart("name", name)
	}
	if !validPart(key) {
		return invalidPart("key", key)
	}
	now := s.now(opts.Now)
	if opts.Replace {
		return s.replace(name, key, value, now)
	}
	if opts.OldKey != "" && !validPart(opts.OldKey) {
		return invalidPart("old key", opts.OldKey)
	}
	if !opts.Partner.IsZero() && (!validPart(opts.Partner.Name) || !validPart(opts.Partner.Key)) {
		return invalidPart("partner", opts.Partner.Name+" "+opts.Partner.Key)
	}
	if opts.TTL <= 0 {
		return fileError("invalid ttl", nil)
	}
	if md := opts.Metadata; md != nil && len(md.Audiences) != len(md.Subjects) {
		return fileError("metadata audiences and subjects differ in number", nil)
	}
	expires := now + int64(opts.TTL)
	src := opts.Partner
	if src.IsZero() && opts.OldKey != "" && opts.OldKey != key {
		src = store.RecordKey{Name: name, Key: opts.OldKey}
	}
	if err := s.writeInGroup(store.RecordKey{Name: name, Key: key}, src, expires, value, now); err != nil {
		return err
	}
	if opts.OldKey != "" && opts.OldKey != key {
		if err := s.shorten(name, s.recordPath(name, opts.OldKey), now, opts.StaleTTL); err != nil {
			return err
		}
	}
	if md := opts.Metadata; md != nil {
		for i := range md.Audiences {
			path := s.indexPath(name, md.Audiences[i], md.Subjects[i])
			if _, err := s.updateIndex(name, path, key, expires, opts.OldKey, now, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// replace rewrites the value of a live record, keeping its expiry and group.
func (s *FileStore) replace(name, key string, value []byte, now int64) error {
	path := s.recordPath(name, key)
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	expires, group, ok := readHead(path)
	if !ok || expires <= now {
		return errFileNotFound
	}
	return s.writeLocked(name, path, recordHeader(expires, group), value)
}

// shorten makes the record at path expire at most staleTTL after now.
func (s *FileStore) shorten(name, path string, now int64, staleTTL time.Duration) error {
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	if staleTTL <= 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fileError("unable to remove old record", err)
		}
		return nil
	}
	stale := now + int64(staleTTL)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fileError("unable to read old record", err)
	}
	expires, group, value, err := parseRecord(data)
	if err != nil || expires <= stale {
		return nil // a corrupt old record is left for the cleaner
	}
	return s.writeLocked(name, path, recordHeader(stale, group), value)
}

// writeFile writes header and value to path atomically, under path's lock.
func (s *FileStore) writeFile(name, path string, header, value []byte) error {
	tmp, err := s.writeTempIn(s.nameDir(name), header, value)
	if err != nil {
		return err
	}
	mu := s.lock(path)
	mu.Lock()
	err = os.Rename(tmp, path)
	mu.Unlock()
	if err != nil {
		os.Remove(tmp)
		return fileError("unable to write record", err)
	}
	return nil
}

// writeLocked is writeFile for a caller that holds path's lock.
func (s *FileStore) writeLocked(name, path string, header, value []byte) error {
	return s.writeLockedIn(s.nameDir(name), path, header, value)
}

// writeLockedIn writes header and value to path, through a temporary file
// in dir, for a caller that holds path's lock.
func (s *FileStore) writeLockedIn(dir, path string, header, value []byte) error {
	tmp, err := s.writeTempIn(dir, header, value)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fileError("unable to write "+filepath.Base(path), err)
	}
	return nil
}

// writeTempIn writes header and value to a new temporary file in dir and
// returns its path.
func (s *FileStore) writeTempIn(dir string, header, value []byte) (string, error) {
	if _, ok := s.dirs.Load(dir); !ok {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fileError("unable to create directory", err)
		}
		s.dirs.Store(dir, struct{}{})
	}
	f, err := os.CreateTemp(dir, fileTmpPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) { // removed behind our back
		if err = os.MkdirAll(dir, 0o700); err == nil {
			f, err = os.CreateTemp(dir, fileTmpPrefix+"*")
		}
	}
	if err != nil {
		return "", fileError("unable to create temporary file", err)
	}
	_, err = f.Write(header)
	if err == nil {
		_, err = f.Write(value)
	}
	if err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fileError("unable to write temporary file", err)
	}
	return f.Name(), nil
}

// Delete removes the record under name and key, every other record of its
// group, and its subject index entries of opts.Metadata. Deleting a missing
// record is not an error.
func (s *FileStore) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validPart(name) {
		return invalidPart("name", name)
	}
	if !validPart(key) {
		return invalidPart("key", key)
	}
	if err := s.deleteGroup(store.RecordKey{Name: name, Key: key}); err != nil {
		return err
	}
	if md := opts.Metadata; md != nil {
		now := s.now(opts.Now)
		for i := range min(len(md.Audiences), len(md.Subjects)) {
			if _, err := s.updateIndex(name, s.indexPath(name, md.Audiences[i], md.Subjects[i]), "", 0, key, now, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeRecord removes a record file under its lock.
func (s *FileStore) removeRecord(path string) error {
	mu := s.lock(path)
	mu.Lock()
	err := os.Remove(path)
	mu.Unlock()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("unable to delete record", err)
	}
	return nil
}

// Sessions lists the live sessions of an encoded audience and subject under
// the cookie name, soonest to expire first, pruning expired entries and
// entries whose record is gone. It implements store.SubjectIndex.
func (s *FileStore) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]store.IndexEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validPart(name) {
		return nil, invalidPart("name", name)
	}
	entries, err := s.updateIndex(name, s.indexPath(name, audience, subject), "", 0, "", s.now(now), true)
	if err != nil {
		return nil, err
	}
	sortEntries(entries)
	return entries, nil
}

// updateIndex rewrites the index file at path: adds key (when not empty)
// with its expiry, removes drop, prunes expired entries (and, with list,
// entries whose record is gone, returning the live ones with their record's
// expiry).
func (s *FileStore) updateIndex(name, path, key string, expires int64, drop string, now int64, list bool) ([]store.IndexEntry, error) {
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fileError("unable to read index", err)
	}
	type kv struct {
		key     string
		expires int64
	}
	var kept []kv
	changed := false
	var out []store.IndexEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, e, ok := strings.Cut(sc.Text(), " ")
		exp, err := strconv.ParseInt(e, 10, 64)
		if !ok || err != nil || !validPart(k) || exp <= now || k == drop || k == key {
			changed = true
			continue
		}
		if list {
			recExp, ok := readExpiry(s.recordPath(name, k))
			if !ok || recExp <= now {
				changed = true
				continue
			}
			out = append(out, store.IndexEntry{Key: k, Expires: time.Unix(0, recExp)})
		}
		kept = append(kept, kv{k, exp})
	}
	if key != "" {
		kept = append(kept, kv{key, expires})
		changed = true
	}
	if !changed {
		return out, nil
	}
	if len(kept) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fileError("unable to remove index", err)
		}
		return out, nil
	}
	var b bytes.Buffer
	for _, e := range kept {
		b.WriteString(e.key)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(e.expires, 10))
		b.WriteByte('\n')
	}
	if err := s.writeLocked(name, path, nil, b.Bytes()); err != nil {
		return nil, err
	}
	return out, nil
}

// Cleanup removes the record and revocation mark files that have expired
// at now, prunes every index file, removes temporary files left by crashed
// writers, and returns how many records it removed. The cleaner goroutine
// calls it; call it yourself to clean up on your own schedule.
func (s *FileStore) Cleanup(now time.Time) (int, error) {
	t := s.now(now)
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fileError("unable to list directory", err)
	}
	removed := 0
	for _, d := range names {
		raw, err := hex.DecodeString(d.Name())
		if !d.IsDir() || err != nil {
			continue // not ours
		}
		name := string(raw)
		dir := filepath.Join(s.dir, d.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			return removed, fileError("unable to list directory", err)
		}
		for _, f := range files {
			path := filepath.Join(dir, f.Name())
			switch {
			case strings.HasPrefix(f.Name(), fileTmpPrefix):
				if info, err := f.Info(); err == nil && time.Since(info.ModTime()) > fileTmpMaxAge {
					os.Remove(path)
				}
			case f.Name()[0] == fileRecordChar:
				if exp, ok := readExpiry(path); ok && exp <= t && s.removeExpired(path, t) {
					removed++
				}
			case f.Name()[0] == fileIndexChar:
				if _, err := s.updateIndex(name, path, "", 0, "", t, true); err != nil {
					return removed, err
				}
			}
		}
	}
	if err := s.cleanupMarks(t); err != nil {
		return removed, err
	}
	return removed, s.cleanupGroups()
}

// Stop ends the cleaner goroutine, if any, and waits for it. The store
// stays usable. Stop may be called more than once. It implements store.Stopper.
func (s *FileStore) Stop() {
	s.stopCleaner()
}

var (
	_ Store              = (*FileStore)(nil)
	_ store.SubjectIndex = (*FileStore)(nil)
	_ store.Stopper      = (*FileStore)(nil)
)
