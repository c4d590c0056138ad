package store

import (
	"context"
	"time"
)

// GroupInfo is what a store keeps about one group of records (one browser
// session, see Store.Set) beside the records themselves, for the session
// package's Manager.Devices. It is Go-only data: a store shared with the
// reference library keeps it where it keeps its other Go-only data, never in
// a record or index the reference reads.
type GroupInfo struct {
	// ID names the group: the records of one group share it, and records
	// of different groups never do. It is the store's own, and need not be
	// secret: the session package hashes it before showing it to anyone,
	// but it must not be, or reveal, a storage key.
	ID string
	// Created is the Seen of the first Set of the group that carried one.
	Created time.Time
	// Seen is the latest Seen a Set of the group carried.
	Seen time.Time
	// Facts is the latest non-nil Facts a Set of the group carried.
	Facts []byte
}

// GroupInfoReader is implemented by stores that keep GroupInfo for their
// record groups. Such a store, on a Set whose opts.Seen is not zero and
// opts.Replace is not set, records Seen as the group's latest (and, on the
// group's first such Set, as its creation time) and, when opts.Facts is not
// nil, Facts as the group's facts, within that Set call: it never costs a
// store call of its own. A Set with Replace leaves the
// group's info as it is. The info lives as long as a record of its group;
// Delete ends it with the group. Records set without Seen have info with
// zero times and nil Facts, and an ID all the same.
type GroupInfoReader interface {
	// GroupInfo returns the info of the group of the record under name
	// and key. A missing or expired record is an error that matches
	// ErrNotFound.
	GroupInfo(ctx context.Context, name, key string, now time.Time) (GroupInfo, error)
}
