package session

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/session/core/store"
)

// FileStore is a Store that keeps one file per record in a directory, laid
// out as the reference library's file storage lays it out, so that a Go
// service and OpenResty (or Kong) can share one directory: each opens the
// sessions the other saved. It keeps a subject index (store.SubjectIndex)
// and revocation marks (store.Revoker) in files too.
//
// Layout, with the options WithFilePrefix and WithFileSuffix (both empty
// by default, then "prefix_" and ".suffix" are left out):
//
//	dir/[prefix_]name_key[.suffix]               a record: the value as is; its modification time is its expiry
//	dir/[prefix_]name_audience:subject[.suffix]  the subject index: "key:exp;" entries, "key;" once a key is replaced or deleted
//	dir/groups/, dir/links/                      the record groups of Store.Set (sessiongo only)
//	dir/groupinfo/                               the group info of store.GroupInfoReader (sessiongo only)
//	dir/index/                                   indexes whose name cannot be a file name (sessiongo only)
//	dir/revoked/                                 revocation marks (sessiongo only)
//
// name is the cookie name, key the storage key; in the index, exp is the
// expiry in Unix seconds as 5 little-endian bytes in base64url. The
// reference never looks into the subdirectories. See docs/stores.md for
// what each side does with the other's files.
//
// Records are written to a temporary file that is renamed into place, so a
// reader sees a whole record or none; index entries are appended with one
// write each, as the reference appends them. Several processes (and the
// reference) may share the directory; record groups are kept consistent
// under the locks of one process only. Names, keys, audiences and subjects
// are validated before they become part of a file name: a cookie name is 1
// to 127 bytes of printable ASCII without spaces, '/', '\' or ':', a key 1
// to 127 base64url characters; anything else is rejected with an error. An
// audience and subject pair that cannot be part of a file name (too long,
// or with such characters) is indexed in dir/index under a hash instead.
//
// Expiry is judged against the Now of each call. Context cancellation is
// checked when a call starts: a cancelled call changes nothing and returns
// the context's error.
type FileStore struct {
	dir            string
	prefix, suffix string
	clock          func() time.Time
	sync           bool

	locks  [64]sync.Mutex // striped by file path
	glocks [64]sync.Mutex // striped by group; taken before locks
	dirs   sync.Map       // subdirectories known to exist

	cleaner
}

const (
	fileMaxPart   = 127 // longest cookie name and storage key
	fileMaxName   = 255 // longest file name (NAME_MAX on common file systems)
	fileTmpPrefix = ".tmp-"
	fileTmpMaxAge = time.Hour // temporary files older than this are debris
)

var errFileNotFound = newError(ErrNotFound, "file store: no such record")

// NewFileStore returns a FileStore keeping its files in dir (the reference
// file storage's option path), which is created (mode 0700) when missing.
// It takes the options WithFilePrefix, WithFileSuffix,
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
	s := &FileStore{dir: dir, prefix: o.file.prefix, suffix: o.file.suffix, clock: o.clock, sync: o.sync}
	if o.cleanup > 0 {
		s.startCleaner(o.cleanup, func() { s.Cleanup(s.clock()) }) //nolint:errcheck // the next pass retries
	}
	return s, nil
}

// Dir returns the directory the store keeps its files in.
func (s *FileStore) Dir() string { return s.dir }

// validPart reports whether a revocation key can be stored: 1 to 127 bytes
// of printable ASCII without spaces, '/', '\' or "..". (Revocation marks
// are named by the hex of their key.)
func validPart(p string) bool {
	if len(p) == 0 || len(p) > fileMaxPart || strings.Contains(p, "..") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !fileNameByte(p[i]) {
			return false
		}
	}
	return true
}

// validCookieName reports whether name can be part of a file name: 1 to
// 127 bytes of printable ASCII without spaces, '/', '\' or ':' (so that no
// record name is ever an index name).
func validRecordName(name string) bool {
	if len(name) == 0 || len(name) > fileMaxPart {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !fileNameByte(name[i]) || name[i] == ':' {
			return false
		}
	}
	return true
}

// validStorageKey reports whether key is 1 to 127 base64url characters.
func validStorageKey(key string) bool {
	if len(key) == 0 || len(key) > fileMaxPart {
		return false
	}
	for i := 0; i < len(key); i++ {
		if !base64urlByte(key[i]) {
			return false
		}
	}
	return true
}

func base64urlByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func fileError(msg string, err error) error { return wrapError(ErrStore, "file store: "+msg, err) }

func invalidPart(what, p string) error {
	return fileError("invalid "+what+" "+strconv.Quote(p)+" (want 1 to 127 printable ASCII bytes without spaces, '/', '\\' or \"..\")", nil)
}

// checkRecord validates the name and key of a record, and the length of
// the file name they make.
func (s *FileStore) checkRecord(what, name, key string) error {
	switch {
	case !validRecordName(name):
		return fileError("invalid "+what+"name "+strconv.Quote(name)+" (want 1 to 127 bytes of printable ASCII without spaces, '/', '\\' or ':')", nil)
	case !validStorageKey(key):
		return fileError("invalid "+what+"key "+strconv.Quote(key)+" (want 1 to 127 base64url characters)", nil)
	case len(s.fileName(name, key)) > fileMaxName:
		return fileError("file name of "+what+"record "+strconv.Quote(name)+" "+strconv.Quote(key)+" longer than 255 bytes", nil)
	}
	return nil
}

// fileName is the reference's file name of a record (part is its key) or
// of an index (part is "audience:subject"): [prefix_]name_part[.suffix].
func (s *FileStore) fileName(name, part string) string {
	var b strings.Builder
	b.Grow(len(s.prefix) + len(name) + len(part) + len(s.suffix) + 3)
	if s.prefix != "" {
		b.WriteString(s.prefix)
		b.WriteByte('_')
	}
	b.WriteString(name)
	b.WriteByte('_')
	b.WriteString(part)
	if s.suffix != "" {
		b.WriteByte('.')
		b.WriteString(s.suffix)
	}
	return b.String()
}

// recordBase is the file name of a record whose name and key are valid.
func (s *FileStore) recordBase(name, key string) string { return s.fileName(name, key) }

// recordPath is the path of a record whose name and key are valid.
func (s *FileStore) recordPath(name, key string) string {
	return filepath.Join(s.dir, s.recordBase(name, key))
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
// record (its modification time at or before opts.Now) is an error
// matching ErrNotFound. An expired record's file is removed.
func (s *FileStore) Get(ctx context.Context, name, key string, opts store.GetOptions) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.checkRecord("", name, key); err != nil {
		return nil, err
	}
	now := s.now(opts.Now)
	path := s.recordPath(name, key)
	value, expires, err := readRecord(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errFileNotFound
		}
		return nil, fileError("unable to read record", err)
	}
	if expires <= now {
		s.removeExpired(path, now)
		return nil, errFileNotFound
	}
	return value, nil
}

var errNotRegular = errors.New("not a regular file")

// readRecord reads a record file and its expiry (modification time) from
// one open file, so that both belong to the same write.
func readRecord(path string) (value []byte, expires int64, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|fileNoFollow, 0)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !info.Mode().IsRegular() {
		return nil, 0, errNotRegular
	}
	var b bytes.Buffer
	b.Grow(int(info.Size()) + bytes.MinRead)
	if _, err := b.ReadFrom(f); err != nil {
		return nil, 0, err
	}
	return b.Bytes(), info.ModTime().UnixNano(), nil
}

// recordExpiry returns the expiry of a record file; ok is false when there
// is no regular file (a symbolic link is not followed).
func recordExpiry(path string) (expires int64, ok bool) {
	info, err := os.Lstat(path)
	if err != nil || !info.Mode().IsRegular() {
		return 0, false
	}
	return info.ModTime().UnixNano(), true
}

// removeExpired removes a record file if it is still expired at now, under
// the file's lock so that a Set of this process is never undone.
func (s *FileStore) removeExpired(path string, now int64) bool {
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	if exp, ok := recordExpiry(path); ok && exp <= now {
		return os.Remove(path) == nil
	}
	return false
}

// Set writes value under name and key for opts.TTL from opts.Now (the
// file's modification time is set to the expiry), shortens the life of
// the opts.OldKey record to opts.StaleTTL (removing it when StaleTTL is not
// positive), and appends to the subject index of opts.Metadata the key
// with its expiry and, as replaced, the old key. The record joins the
// group of opts.Partner or opts.OldKey; when that record is not readable,
// nothing is written and the error matches ErrNotFound. With opts.Replace
// only the value of an existing record changes.
func (s *FileStore) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkRecord("", name, key); err != nil {
		return err
	}
	now := s.now(opts.Now)
	if opts.Replace {
		return s.replace(s.recordPath(name, key), value, now)
	}
	if opts.OldKey != "" {
		if err := s.checkRecord("old ", name, opts.OldKey); err != nil {
			return err
		}
	}
	if !opts.Partner.IsZero() {
		if err := s.checkRecord("partner ", opts.Partner.Name, opts.Partner.Key); err != nil {
			return err
		}
	}
	if opts.TTL <= 0 {
		return fileError("invalid ttl", nil)
	}
	md := opts.Metadata
	if md != nil && len(md.Audiences) != len(md.Subjects) {
		return fileError("metadata audiences and subjects differ in number", nil)
	}
	expires := now + int64(opts.TTL)
	r := s.recordBase(name, key)
	var src string
	switch {
	case !opts.Partner.IsZero():
		src = s.recordBase(opts.Partner.Name, opts.Partner.Key)
	case opts.OldKey != "" && opts.OldKey != key:
		src = s.recordBase(name, opts.OldKey)
	}
	if err := s.writeInGroup(r, src, expires, value, now); err != nil {
		return err
	}
	if !opts.Seen.IsZero() {
		if err := s.noteGroupInfo(r, now, opts.Seen, opts.Facts); err != nil {
			return err
		}
	}
	replaced := opts.OldKey != "" && opts.OldKey != key
	if replaced {
		if err := s.shorten(s.recordPath(name, opts.OldKey), now, opts.StaleTTL); err != nil {
			return err
		}
	}
	if md != nil {
		entries := indexEntry(key, expirySeconds(expires))
		if replaced {
			entries += indexTombstone(opts.OldKey)
		}
		for i := range md.Audiences {
			if err := s.appendIndex(s.indexPath(name, md.Audiences[i], md.Subjects[i]), entries, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// replace rewrites the value of a live record, keeping its expiry.
func (s *FileStore) replace(path string, value []byte, now int64) error {
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	expires, ok := recordExpiry(path)
	if !ok || expires <= now {
		return errFileNotFound
	}
	return s.writeAtomic(s.dir, path, value, time.Unix(0, expires))
}

// shorten makes the record at path expire at most staleTTL after now, or
// removes it when staleTTL is not positive. A missing record is left so.
func (s *FileStore) shorten(path string, now int64, staleTTL time.Duration) error {
	mu := s.lock(path)
	mu.Lock()
	defer mu.Unlock()
	if staleTTL <= 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fileError("unable to remove old record", err)
		}
		return nil
	}
	expires, ok := recordExpiry(path)
	stale := now + int64(staleTTL)
	if !ok || expires <= stale {
		return nil
	}
	if err := setMtime(path, time.Unix(0, stale)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("unable to shorten old record", err)
	}
	return nil
}

// writeAtomic writes data to path through a temporary file in dir (on the
// same file system) that gets mtime, when not zero, before it is renamed
// into place. The caller holds path's lock.
func (s *FileStore) writeAtomic(dir, path string, data []byte, mtime time.Time) error {
	f, err := os.CreateTemp(dir, fileTmpPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) { // created on first use, or removed behind our back
		if err = os.MkdirAll(dir, 0o700); err == nil {
			f, err = os.CreateTemp(dir, fileTmpPrefix+"*")
		}
	}
	if err != nil {
		return fileError("unable to create temporary file", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !mtime.IsZero() {
		err = os.Chtimes(tmp, time.Time{}, mtime)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fileError("unable to write "+filepath.Base(path), err)
	}
	return nil
}

// Delete removes the record under name and key and every other record of
// its group, and appends the key, as deleted, to the subject index of
// opts.Metadata, as the reference does; the keys of the group's other
// records that the indexes of the same pairs under their cookie names list
// as live are appended there, as deleted. Deleting a missing record is not
// an error.
func (s *FileStore) Delete(ctx context.Context, name, key string, opts store.DeleteOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.checkRecord("", name, key); err != nil {
		return err
	}
	base := s.recordBase(name, key)
	members, err := s.deleteGroup(base)
	if err != nil {
		return err
	}
	md := opts.Metadata
	if md == nil {
		return nil
	}
	now := s.now(opts.Now)
	for i := range min(len(md.Audiences), len(md.Subjects)) {
		if err := s.appendIndex(s.indexPath(name, md.Audiences[i], md.Subjects[i]), indexTombstone(key), now); err != nil {
			return err
		}
		others := map[string][]string{} // index path -> storage keys
		for _, m := range members {
			if m == base {
				continue
			}
			for _, r := range s.recordNames(m) {
				p := s.indexPath(r.Name, md.Audiences[i], md.Subjects[i])
				others[p] = append(others[p], r.Key)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(others)) {
			if err := s.unindex(p, others[p], now); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeFile removes a file under its lock; a missing file is no error.
func (s *FileStore) removeFile(path string) error {
	mu := s.lock(path)
	mu.Lock()
	err := os.Remove(path)
	mu.Unlock()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("unable to delete "+filepath.Base(path), err)
	}
	return nil
}

// Sessions lists the live sessions of an encoded audience and subject under
// the cookie name, soonest to expire first: the keys the index holds as
// live at now whose record is still there, with the record's expiry. An
// index that holds replaced, deleted or expired entries is rewritten
// without them. It implements store.SubjectIndex.
func (s *FileStore) Sessions(ctx context.Context, name, audience, subject string, now time.Time) ([]store.IndexEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validRecordName(name) {
		return nil, fileError("invalid name "+strconv.Quote(name), nil)
	}
	t := s.now(now)
	idx, err := s.readIndex(s.indexPath(name, audience, subject), t)
	if err != nil {
		return nil, err
	}
	var out []store.IndexEntry
	for _, e := range idx.live {
		if s.checkRecord("", name, e.key) != nil {
			continue
		}
		if exp, ok := recordExpiry(s.recordPath(name, e.key)); ok && exp > t {
			out = append(out, store.IndexEntry{Key: e.key, Expires: time.Unix(0, exp)})
		}
	}
	sortEntries(out)
	return out, nil
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
