package session

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sessiongo/session/core/store"
)

// The group info of a FileStore (store.GroupInfoReader), kept where the
// reference never looks:
//
//	dir/groupinfo/<group>  {"o": the record file that started the group, "c": created, "s": seen, "f": facts}
//
// written by a Set with SetOptions.Seen, removed with the group by Delete,
// and by Cleanup once no record of the group is left.
const fileGroupInfoDir = "groupinfo"

// fileGroupInfo is the content of a group info file; times in Unix
// nanoseconds.
type fileGroupInfo struct {
	Origin  string `json:"o"`
	Created int64  `json:"c"`
	Seen    int64  `json:"s"`
	Facts   []byte `json:"f,omitempty"`
}

func (s *FileStore) groupInfoPath(group string) string {
	return filepath.Join(s.dir, fileGroupInfoDir, group)
}

// readGroupInfo reads the info of a group; a missing or unreadable file is
// an empty info.
func (s *FileStore) readGroupInfo(group string) fileGroupInfo {
	var info fileGroupInfo
	if b, err := os.ReadFile(s.groupInfoPath(group)); err == nil {
		if json.Unmarshal(b, &info) != nil {
			info = fileGroupInfo{}
		}
	}
	return info
}

// noteGroupInfo records a save's Seen and Facts in the info of the group of
// the record file r, just written.
func (s *FileStore) noteGroupInfo(r string, now int64, seen time.Time, facts []byte) error {
	group, ok := s.groupOf(r, now)
	if !ok {
		return nil // deleted meanwhile: no info to keep
	}
	mu := s.groupLock(group)
	mu.Lock()
	defer mu.Unlock()
	if g, ok := s.groupOf(r, now); !ok || g != group {
		return nil
	}
	info := s.readGroupInfo(group)
	if info.Created == 0 {
		info.Created = seen.UnixNano()
	}
	if info.Origin == "" || !s.isRecordBase(info.Origin) {
		info.Origin = r
	}
	info.Seen = seen.UnixNano()
	if facts != nil {
		info.Facts = facts
	}
	b, err := json.Marshal(info)
	if err != nil {
		return fileError("unable to encode group info", err)
	}
	return s.writeAtomic(filepath.Join(s.dir, fileGroupInfoDir), s.groupInfoPath(group), b, time.Time{})
}

// GroupInfo returns the info of the group of the record under name and key
// (store.GroupInfoReader); a missing or expired record is an error matching
// ErrNotFound.
func (s *FileStore) GroupInfo(ctx context.Context, name, key string, now time.Time) (store.GroupInfo, error) {
	if err := ctx.Err(); err != nil {
		return store.GroupInfo{}, err
	}
	if err := s.checkRecord("", name, key); err != nil {
		return store.GroupInfo{}, err
	}
	group, ok := s.groupOf(s.recordBase(name, key), s.now(now))
	if !ok {
		return store.GroupInfo{}, errFileNotFound
	}
	info := s.readGroupInfo(group)
	out := store.GroupInfo{ID: group, Facts: info.Facts}
	if info.Created != 0 {
		out.Created = time.Unix(0, info.Created)
	}
	if info.Seen != 0 {
		out.Seen = time.Unix(0, info.Seen)
	}
	return out, nil
}

// removeGroupInfo removes the info of a group; the group's lock is held.
func (s *FileStore) removeGroupInfo(group string) error {
	if err := os.Remove(s.groupInfoPath(group)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("unable to remove group info", err)
	}
	return nil
}

// cleanupGroupInfo removes the info of the groups that no record is left
// of: neither the record that started it nor a member of its group file.
func (s *FileStore) cleanupGroupInfo() error {
	dir := filepath.Join(s.dir, fileGroupInfoDir)
	files, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fileError("unable to list group info", err)
	}
	exists := func(base string) bool {
		_, err := os.Stat(filepath.Join(s.dir, base))
		return err == nil
	}
	for _, f := range files {
		group := f.Name()
		if removeDebris(dir, f) || !validGroup(group) {
			continue
		}
		mu := s.groupLock(group)
		mu.Lock()
		info := s.readGroupInfo(group)
		live := s.isRecordBase(info.Origin) && exists(info.Origin) && s.linkedGroup(info.Origin) == group
		if !live {
			members, err := s.readGroup(group)
			live = err == nil && slices.ContainsFunc(members, exists)
		}
		if !live {
			err = s.removeGroupInfo(group)
		}
		mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

var _ store.GroupInfoReader = (*FileStore)(nil)
