package session

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/session/core/store"
)

// Record groups of a FileStore (see Store.Set), kept where the reference
// never looks:
//
//	dir/groups/<group>       the members of a group, one record file name a line
//	dir/links/<record file>  the group of a record that joined another's group
//
// A record that starts a group needs neither: its group is derived from
// its file name (fileGroupID), and a group file appears when a second
// record joins. So records the reference writes are each a group of one,
// until a save of this store rotates one of them and so joins its group.

const (
	fileGroupDir = "groups" // not hex, so never taken for a legacy name directory
	fileLinkDir  = "links"
	// fileGroupMax bounds the live records of one group: the work of a
	// save that joins it grows with its size.
	fileGroupMax = 1024
)

// fileGroupID is the group a record starts, derived from its file name.
func fileGroupID(base string) string {
	sum := sha256.Sum256([]byte(base))
	return hex.EncodeToString(sum[:16])
}

func validGroup(g string) bool {
	_, err := hex.DecodeString(g)
	return err == nil && len(g) == 32
}

func (s *FileStore) groupPath(group string) string {
	return filepath.Join(s.dir, fileGroupDir, group)
}

func (s *FileStore) linkPath(base string) string {
	return filepath.Join(s.dir, fileLinkDir, base)
}

func (s *FileStore) groupLock(group string) *sync.Mutex {
	return &s.glocks[fnv1a(group)%uint64(len(s.glocks))]
}

// isRecordBase reports whether base is the file name of a record of this
// store: [prefix_]name_key[.suffix] with no ':' (an index) and no path
// separator, so that a group file can only ever name such files.
func (s *FileStore) isRecordBase(base string) bool {
	if len(base) == 0 || len(base) > fileMaxName || base[0] == '.' {
		return false
	}
	for i := 0; i < len(base); i++ {
		if !fileNameByte(base[i]) || base[i] == ':' {
			return false
		}
	}
	mid, ok := s.stripAffixes(base)
	return ok && strings.IndexByte(mid, '_') > 0
}

// stripAffixes returns the part of a file name between the store's prefix
// and suffix; ok is false when the name lacks them.
func (s *FileStore) stripAffixes(base string) (mid string, ok bool) {
	mid = base
	if s.prefix != "" {
		if mid, ok = strings.CutPrefix(mid, s.prefix+"_"); !ok {
			return "", false
		}
	}
	if s.suffix != "" {
		if mid, ok = strings.CutSuffix(mid, "."+s.suffix); !ok {
			return "", false
		}
	}
	return mid, true
}

// linkedGroup returns the group of the record file base: its link, or the
// group it started.
func (s *FileStore) linkedGroup(base string) string {
	if g, err := os.ReadFile(s.linkPath(base)); err == nil && validGroup(string(g)) {
		return string(g)
	}
	return fileGroupID(base)
}

// groupOf returns the group of the live record base; ok is false when no
// record is readable there at now.
func (s *FileStore) groupOf(base string, now int64) (group string, ok bool) {
	if exp, ok := recordExpiry(filepath.Join(s.dir, base)); !ok || exp <= now {
		return "", false
	}
	return s.linkedGroup(base), true
}

// writeInGroup writes the record r (a file name) in the group of src (a
// new group when src is empty), under the group's lock so that a
// concurrent deleteGroup either sees the record or makes the write fail.
func (s *FileStore) writeInGroup(r, src string, expires int64, value []byte, now int64) error {
	group := fileGroupID(r)
	if src != "" {
		g, ok := s.groupOf(src, now)
		if !ok {
			return errFileNotFound
		}
		group = g
	}
	mu := s.groupLock(group)
	mu.Lock()
	defer mu.Unlock()
	if src != "" {
		if g, ok := s.groupOf(src, now); !ok || g != group {
			return errFileNotFound // deleted meanwhile
		}
		members, err := s.readGroup(group)
		if err != nil {
			return err
		}
		members = slices.DeleteFunc(members, func(m string) bool {
			_, err := os.Stat(filepath.Join(s.dir, m))
			return errors.Is(err, fs.ErrNotExist)
		})
		if len(members) >= fileGroupMax {
			// Only a cookie replayed thousands of times within its stale TTL
			// forks a session this often; each join reads every member.
			return fileError("too many records in one session's group", nil)
		}
		for _, m := range [...]string{src, r} {
			if !slices.Contains(members, m) {
				members = append(members, m)
			}
		}
		if err := s.writeGroup(group, members); err != nil {
			return err
		}
	}
	// The link before the record: a record never exists without it.
	if group != fileGroupID(r) {
		if err := s.writeAtomic(filepath.Join(s.dir, fileLinkDir), s.linkPath(r), []byte(group), time.Time{}); err != nil {
			return err
		}
	} else if err := os.Remove(s.linkPath(r)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("unable to remove group link", err)
	}
	path := filepath.Join(s.dir, r)
	mu2 := s.lock(path)
	mu2.Lock()
	defer mu2.Unlock()
	return s.writeAtomic(s.dir, path, value, time.Unix(0, expires))
}

// deleteGroup removes the record r (a file name) and every other record of
// its group, with their links, and returns the file names of the records
// of the group (r among them).
func (s *FileStore) deleteGroup(r string) ([]string, error) {
	group := s.linkedGroup(r)
	mu := s.groupLock(group)
	mu.Lock()
	defer mu.Unlock()
	members, err := s.readGroup(group)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(members, r) {
		members = append(members, r)
	}
	for _, m := range members {
		if err := s.removeFile(filepath.Join(s.dir, m)); err != nil {
			return nil, err
		}
		if err := os.Remove(s.linkPath(m)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fileError("unable to remove group link", err)
		}
	}
	if err := os.Remove(s.groupPath(group)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fileError("unable to remove group", err)
	}
	if err := s.removeGroupInfo(group); err != nil {
		return nil, err
	}
	return members, nil
}

// unindex appends, as deleted, those of keys that the index at path lists
// as live at now. An index that does not exist, or lists none of them, is
// left as it is.
func (s *FileStore) unindex(path string, keys []string, now int64) error {
	data, err := readNoFollow(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fileError("unable to read index", err)
	}
	idx, _ := parseIndex(data, now, false)
	var tombstones strings.Builder
	for _, k := range keys {
		if slices.ContainsFunc(idx.live, func(e indexKey) bool { return e.key == k }) {
			tombstones.WriteString(indexTombstone(k))
		}
	}
	if tombstones.Len() == 0 {
		return nil
	}
	return s.appendIndex(path, tombstones.String(), now)
}

// recordNames returns the cookie names and storage keys that the record
// file name base can stand for: "name_key" splits at any '_' that leaves a
// valid name and key (both may hold one), and every split names the same
// file.
func (s *FileStore) recordNames(base string) []store.RecordKey {
	mid, ok := s.stripAffixes(base)
	if !ok {
		return nil
	}
	var out []store.RecordKey
	for i := 0; i < len(mid); i++ {
		if mid[i] == '_' && validRecordName(mid[:i]) && validStorageKey(mid[i+1:]) {
			out = append(out, store.RecordKey{Name: mid[:i], Key: mid[i+1:]})
		}
	}
	return out
}

// readGroup reads the members of a group; the group's lock is held. Lines
// that are not a record file name of this store are skipped (the legacy
// layout's among them).
func (s *FileStore) readGroup(group string) ([]string, error) {
	data, err := os.ReadFile(s.groupPath(group))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fileError("unable to read group", err)
	}
	var members []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if m := sc.Text(); s.isRecordBase(m) && !slices.Contains(members, m) {
			members = append(members, m)
		}
	}
	return members, nil
}

// writeGroup replaces the members of a group, removing its file when there
// are none; the group's lock is held.
func (s *FileStore) writeGroup(group string, members []string) error {
	path := s.groupPath(group)
	if len(members) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fileError("unable to remove group", err)
		}
		return nil
	}
	var b bytes.Buffer
	for _, m := range members {
		b.WriteString(m)
		b.WriteByte('\n')
	}
	return s.writeAtomic(filepath.Join(s.dir, fileGroupDir), path, b.Bytes(), time.Time{})
}

// cleanupGroups drops the members whose record is gone from every group
// file, and the files left empty, then the links of records that are gone.
func (s *FileStore) cleanupGroups() error {
	dir := filepath.Join(s.dir, fileGroupDir)
	files, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("unable to list groups", err)
	}
	for _, f := range files {
		group := f.Name()
		if removeDebris(dir, f) || !validGroup(group) {
			continue
		}
		mu := s.groupLock(group)
		mu.Lock()
		members, err := s.readGroup(group)
		if err == nil {
			live := slices.DeleteFunc(members, func(m string) bool {
				_, err := os.Stat(filepath.Join(s.dir, m))
				return errors.Is(err, fs.ErrNotExist)
			})
			if len(live) < 2 { // a group of one is its record alone
				live = nil
			}
			err = s.writeGroup(group, live)
		}
		mu.Unlock()
		if err != nil {
			return err
		}
	}
	dir = filepath.Join(s.dir, fileLinkDir)
	links, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("unable to list group links", err)
	}
	for _, f := range links {
		base := f.Name()
		if removeDebris(dir, f) || !s.isRecordBase(base) {
			continue
		}
		group := s.linkedGroup(base)
		mu := s.groupLock(group)
		mu.Lock()
		if _, err := os.Stat(filepath.Join(s.dir, base)); errors.Is(err, fs.ErrNotExist) {
			os.Remove(s.linkPath(base))
		}
		mu.Unlock()
	}
	return nil
}
