package store

import "errors"

// ErrNotFound is the error, or the cause of the error, that Get returns for
// a missing or expired record, and that Set returns when the record it
// depends on (SetOptions.OldKey, SetOptions.Partner, or the record itself
// with SetOptions.Replace) is not readable. Wrap it with %w to add
// context: callers test for it with errors.Is. The session package's
// ErrNotFound is this same value, so either name matches.
var ErrNotFound = errors.New("session not found")
