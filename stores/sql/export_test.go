package sqlstore

// Queries returns the statements of s by name, for the tests that EXPLAIN
// them.
func Queries(s *Store) map[string]string {
	return map[string]string{
		"get":       s.q.get,
		"shorten":   s.q.shorten,
		"delete":    s.q.deleteRow,
		"prune":     s.q.prune,
		"list":      s.q.list,
		"cleanup":   s.q.cleanup,
		"dropMeta":  s.d.dropMeta(s.t, 1),
		"cleanMeta": s.q.cleanMeta,
	}
}
