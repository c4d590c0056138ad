package sqlstore

// Queries returns the statements of s by name, for the tests that EXPLAIN
// them.
func Queries(s *Store) map[string]string {
	return map[string]string{
		"get":             s.q.get,
		"exists":          s.q.exists,
		"nameOf":          s.q.nameOf,
		"insert":          s.q.insert,
		"join":            s.q.join,
		"replace":         s.q.replace,
		"lock":            s.q.lock,
		"lockAny":         s.q.lockAny,
		"claim":           s.q.claim,
		"shorten":         s.q.shorten,
		"retire":          s.q.retire,
		"delete":          s.q.deleteRow,
		"deleteGroup":     s.q.deleteGroup,
		"deleteMeta":      s.q.deleteMeta,
		"retireMeta":      s.q.retireMeta,
		"deleteSidMeta":   s.q.deleteSidMeta,
		"deleteGroupMeta": s.q.deleteGroupMeta,
		"pruneScan":       s.q.pruneScan,
		"pruneRecord":     s.q.pruneRecord,
		"pruneRow":        s.q.pruneRow,
		"list":            s.q.list,
		"cleanup":         s.q.cleanup,
		"cleanMeta":       s.q.cleanMeta,
		"insertMeta":      s.d.insertMeta(s.t, 1),
		"groupInfo":       s.q.groupInfo,
		"info":            s.q.info,
		"infoKeep":        s.q.infoKeep,
		"deleteInfo":      s.q.deleteInfo,
		"cleanInfo":       s.q.cleanInfo,
		"lockPair":        s.q.lockPair,
		"limitList":       s.q.limitList,
		"cleanLocks":      s.q.cleanLocks,
		"insertWithInfo":  s.q.withInfo[infoStatement{s.q.insert, true}],
		"joinWithInfo":    s.q.withInfo[infoStatement{s.q.join, false}],
	}
}

// AddGroupsSchema returns the statements that add record groups to a
// sessions table without them, for the test that keeps the README in
// step.
func AddGroupsSchema(d Dialect, opts ...Option) ([]string, error) {
	n, err := tableNames(d, opts)
	if err != nil {
		return nil, err
	}
	return d.addGroups(n), nil
}

// FromV0Schema returns the statements that move tables of the earlier
// layout to the current one, and whether they run in one transaction, for
// the test that keeps the README in step.
func FromV0Schema(d Dialect, opts ...Option) ([]string, bool, error) {
	n, err := tableNames(d, opts)
	if err != nil {
		return nil, false, err
	}
	stmts, tx := d.fromV0(n)
	return stmts, tx, nil
}

// SeparateInfo makes s write the group info in a statement of its own on
// PostgreSQL too, for the benchmark that compares it with the WITH query.
func SeparateInfo(s *Store) { s.q.withInfo = nil }

// SetRetryHook makes s call f with the error of each write it runs again.
func SetRetryHook(s *Store, f func(error)) { s.onRetry = f }

// IndexValue is indexValue, for the tests that look at the index rows.
func IndexValue(v string) string { return indexValue(v) }

// Retryable is retryable, for the tests of the drivers' errors.
func Retryable(err error) bool { return retryable(err) }
