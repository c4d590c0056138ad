package store

import "errors"

// ErrSessionLimit is the error, or the cause of the error, that a
// SessionLimiter's Set returns when it refuses a session over its limit.
// The session package's ErrSessionLimit is this same value.
var ErrSessionLimit = errors.New("too many sessions")

// SessionLimiter is implemented by stores that cap the sessions of a
// subject atomically, so that two concurrent logins never leave more than
// the limit (the session package's Config.MaxSessionsPerSubject; it caps
// the others itself, best effort). The session package sets
// SetOptions.Limit only on the Set of a login: a record with neither OldKey
// nor Partner, with Metadata of one audience and subject pair.
//
// On such a Set, the store counts the live records of the subject index of
// that pair under name, the new record left out, in the same atomic step
// as the write. When they are Limit or more, with LimitRefuse it stores
// nothing and returns an error that matches ErrSessionLimit; without it,
// it ends, as Delete with that Metadata would (with their groups), the
// records that expire soonest until Limit-1 are left, and then stores the
// record.
type SessionLimiter interface {
	// LimitsSessions reports whether the store caps sessions as above
	// (a Redis Cluster, whose keys span slots, may not).
	LimitsSessions() bool
}
