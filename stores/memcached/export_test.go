package memcachedstore

// MaxMembers is the most records a group keeps.
const MaxMembers = maxMembers

// Bookkeeping keys, for the tests to look at the items beside the records.
var (
	PointerKey = (*Store).pointerKey
	GroupKey   = (*Store).groupKey
)
