package memcachedstore

// Bookkeeping keys, for the tests to look at the items beside the records.
var (
	PointerKey = (*Store).pointerKey
	GroupKey   = (*Store).groupKey
)
