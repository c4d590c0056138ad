package sqlstore

// RevocationQueries returns the revocation statements of s by name, for
// the tests that EXPLAIN them: the upsert of one mark, the lookup of three
// keys and the cleanup of expired marks.
func RevocationQueries(s *Store) map[string]string {
	return map[string]string{
		"revoke":       s.d.revokeQuery(s.t, 1),
		"revoked":      s.d.revokedQuery(s.t, 3),
		"cleanupMarks": s.d.cleanupMarksQuery(s.t),
	}
}
