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

// fileGroupDir is the directory of group files; not hex, so never taken for
// a cookie name's directory.
const fileGroupDir = "groups"

// fileGroupMax bounds the live records of one group: the work of a save
// that joins it grows with its size.
const fileGroupMax = 1024

// fileGroupID is the group a record starts: derived from its name and key,
// so that a record written without a group line has one all the same.
func fileGroupID(r store.RecordKey) string {
	sum := sha256.Sum256([]byte(r.Name + "\x00" + r.Key))
	return hex.EncodeToString(sum[:16])
}

func (s *FileStore) groupPath(group string) string {
	return filepath.Join(s.dir, fileGroupDir, group)
}

func (s *FileStore) groupLock(group string) *sync.Mutex {
	return &s.glocks[fnv1a(group)%uint64(len(s.glocks))]
}

// groupOf returns the group of the live record r; ok is false when no
// record is readable there.
func (s *FileStore) groupOf(r store.RecordKey, now int64) (group string, ok bool) {
	expires, group, ok := readHead(s.recordPath(r.Name, r.Key))
	if !ok || expires <= now {
		return "", false
	}
	if group == "" || !validGroup(group) {
		group = fileGroupID(r)
	}
	return group, true
}

func validGroup(g string) bool {
	_, err := hex.DecodeString(g)
	return err == nil && len(g) == 32
}

// writeInGroup writes the record r in the group of src (a new group when
// src is zero), under the group's lock so that a concurrent deleteGroup
// either sees the record or makes the write fail.
func (s *FileStore) writeInGroup(r, src store.RecordKey, expires int64, value []byte, now int64) error {
	group := fileGroupID(r)
	if !src.IsZero() {
		g, ok := s.groupOf(src, now)
		if !ok {
			return errFileNotFound
		}
		group = g
	}
	mu := s.groupLock(group)
	mu.Lock()
	defer mu.Unlock()
	if !src.IsZero() {
		if g, ok := s.groupOf(src, now); !ok || g != group {
			return errFileNotFound // deleted meanwhile
		}
	}
	members, err := s.readGroup(group)
	if err != nil {
		return err
	}
	members = slices.DeleteFunc(members, func(m store.RecordKey) bool {
		_, err := os.Stat(s.recordPath(m.Name, m.Key))
		return errors.Is(err, fs.ErrNotExist)
	})
	if len(members) >= fileGroupMax {
		// Only a cookie replayed thousands of times within its stale TTL
		// forks a session this often; each join reads every member.
		return fileError("too many records in one session's group", nil)
	}
	for _, m := range [...]store.RecordKey{src, r} {
		if !m.IsZero() && !slices.Contains(members, m) {
			members = append(members, m)
		}
	}
	if err := s.writeGroup(group, members); err != nil {
		return err
	}
	return s.writeFile(r.Name, s.recordPath(r.Name, r.Key), recordHeader(expires, group), value)
}

// deleteGroup removes the record r and every other record of its group.
func (s *FileStore) deleteGroup(r store.RecordKey) error {
	path := s.recordPath(r.Name, r.Key)
	_, group, ok := readHead(path)
	if !ok {
		return s.removeRecord(path)
	}
	if !validGroup(group) {
		group = fileGroupID(r)
	}
	mu := s.groupLock(group)
	mu.Lock()
	defer mu.Unlock()
	members, err := s.readGroup(group)
	if err != nil {
		return err
	}
	for _, m := range append(members, r) {
		if err := s.removeRecord(s.recordPath(m.Name, m.Key)); err != nil {
			return err
		}
	}
	if err := os.Remove(s.groupPath(group)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("unable to remove group", err)
	}
	return nil
}

// readGroup reads the members of a group; the group's lock is held.
func (s *FileStore) readGroup(group string) ([]store.RecordKey, error) {
	data, err := os.ReadFile(s.groupPath(group))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fileError("unable to read group", err)
	}
	var members []store.RecordKey
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		hexName, key, ok := strings.Cut(sc.Text(), " ")
		name, err := hex.DecodeString(hexName)
		if ok && err == nil && validPart(string(name)) && validPart(key) {
			members = append(members, store.RecordKey{Name: string(name), Key: key})
		}
	}
	return members, nil
}

// writeGroup replaces the members of a group, removing its file when there
// are none; the group's lock is held.
func (s *FileStore) writeGroup(group string, members []store.RecordKey) error {
	path := s.groupPath(group)
	if len(members) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fileError("unable to remove group", err)
		}
		return nil
	}
	var b bytes.Buffer
	for _, m := range members {
		b.WriteString(hex.EncodeToString([]byte(m.Name)))
		b.WriteByte(' ')
		b.WriteString(m.Key)
		b.WriteByte('\n')
	}
	return s.writeLockedIn(filepath.Join(s.dir, fileGroupDir), path, nil, b.Bytes())
}

// cleanupGroups drops the members whose record is gone from every group
// file, and the files left empty.
func (s *FileStore) cleanupGroups() error {
	files, err := os.ReadDir(filepath.Join(s.dir, fileGroupDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fileError("unable to list groups", err)
	}
	for _, f := range files {
		group := f.Name()
		if strings.HasPrefix(group, fileTmpPrefix) {
			if info, err := f.Info(); err == nil && time.Since(info.ModTime()) > fileTmpMaxAge {
				os.Remove(filepath.Join(s.dir, fileGroupDir, group))
			}
			continue
		}
		if !validGroup(group) {
			continue
		}
		mu := s.groupLock(group)
		mu.Lock()
		members, err := s.readGroup(group)
		if err == nil {
			live := slices.DeleteFunc(members, func(m store.RecordKey) bool {
				_, err := os.Stat(s.recordPath(m.Name, m.Key))
				return errors.Is(err, fs.ErrNotExist)
			})
			err = s.writeGroup(group, live)
		}
		mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}
