package redisstore

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Groups. The records of one browser session (each save's record, the
// stale records it replaced, the remember cookie's records) form a group, so
// that Delete of any of them ends all of them. The records themselves keep
// the reference's names and values; the store adds two kinds of keys:
//
//   - a link per grouped record, "{K}:group" for the record key K: a string,
//     the name of the record's group key, living exactly as long as the
//     record (it is written and shortened with it);
//   - a group key per group, "{F}:members:N" for the record key F of the
//     group's first member and a random N: a sorted set of the members'
//     record keys, scored by their expiry (milliseconds of Redis's clock),
//     living as long as its longest-lived member plus groupGrace. Members
//     that expired more than groupGrace ago are dropped whenever a member is
//     added. In a cluster, Delete marks a group as ended with the member ""
//     (scored +inf), which makes concurrent saves into it fail, and once
//     every member is deleted the group keeps only the mark, for endedTTL.
//
// A record with no link (a record of a group of its own, or one written by
// the reference, which knows nothing of groups) gets one when a record joins
// it: the group is founded then. The braces make each key a hash tag of the
// record key, so that a link and the group a record founds live in the
// record's hash slot in a cluster; when K has a hash tag of its own (a prefix
// such as "{app}"), the names are "K:{group}" and "F:{members:N}" instead.
// Cookie names and storage keys hold no braces, so no record or index key
// takes one of these names.
const (
	// groupGrace is how long a group keeps a member past its expiry, and
	// outlives its last member: it covers the clock differences between
	// cluster nodes (a member's expiry is counted on the node of its group,
	// its record expires on its own node's clock).
	groupGrace = time.Minute
	// endedTTL is how long a group ended by Delete in a cluster stays marked
	// as ended once its members are gone. A cluster save that takes longer
	// than half of it fails.
	endedTTL = time.Minute
)

// companion returns the name of a bookkeeping key of the record key k: a
// name in k's hash slot that no record or index key can take.
func companion(k, marker string) string {
	if hasHashTag(k) {
		return k + ":{" + marker + "}"
	}
	return "{" + k + "}:" + marker
}

// hasHashTag reports whether Redis Cluster hashes k by a part of it: a
// non-empty "{...}" (the first "{" and the first "}" after it).
func hasHashTag(k string) bool {
	i := strings.IndexByte(k, '{')
	return i >= 0 && strings.IndexByte(k[i+1:], '}') > 0
}

// linkKey returns the name of the key that names the group of the record
// under the record key k.
func linkKey(k string) string { return companion(k, "group") }

// newGroupKey returns a fresh name for a group that the record under the
// record key k would found.
func newGroupKey(k string) string { return companion(k, "members:"+groupNonce()) }

// groupNonce returns the random part of the name of a new group: saveScript
// names a group it founds from it as newGroupKey does.
func groupNonce() string { return strconv.FormatUint(rand.Uint64(), 36) }

// record names the keys of one record: its own and its link.
type record struct{ key, link string }

func (s *Store) record(name, key string) record {
	k := s.Key(name, key)
	return record{k, linkKey(k)}
}
