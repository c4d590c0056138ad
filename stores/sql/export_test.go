package sqlstore

// Queries returns the statements of s by name, for the tests that EXPLAIN
// them.
func Queries(s *Store) map[string]string {
	return map[string]string{
		"get":             s.q.get,
		"exists":          s.q.exists,
		"replace":         s.q.replace,
		"lock":            s.q.lock,
		"lockAny":         s.q.lockAny,
		"claim":           s.q.claim,
		"shorten":         s.q.shorten,
		"retire":          s.q.retire,
		"delete":          s.q.deleteRow,
		"deleteGroup":     s.q.deleteGroup,
		"deleteMeta":      s.q.deleteMeta,
		"deleteGroupMeta": s.q.deleteGroupMeta,
		"pruneScan":       s.q.pruneScan,
		"pruneRow":        s.q.pruneRow,
		"list":            s.q.list,
		"cleanup":         s.q.cleanup,
		"dropMeta":        s.d.dropMeta(s.t, 1),
		"cleanMeta":       s.q.cleanMeta,
	}
}

// UpgradeSchema returns the statements that add record groups to a
// sessions table of an earlier version, for the test that keeps the
// README's upgrade section in step.
func UpgradeSchema(d Dialect, opts ...Option) ([]string, error) {
	n, err := tableNames(d, opts)
	if err != nil {
		return nil, err
	}
	return d.upgrade(n), nil
}

// IndexValue is indexValue, for the tests that look at the index rows.
func IndexValue(v string) string { return indexValue(v) }
