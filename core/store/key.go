package store

// Key returns the name of a record in a key-value store as the
// reference names it: the parts joined with ':', with the prefix
// before them and the suffix after them when they are not empty. Session
// records are Key(prefix, suffix, name, key) ("app:session:KEY"), subject
// index entries Key(prefix, suffix, name, audience, subject). Stores
// that keep their records in a key-value server use it, so that records stay
// readable by the reference library.
func Key(prefix, suffix string, parts ...string) string {
	n := len(prefix) + len(suffix) + len(parts) + 1
	for _, p := range parts {
		n += len(p)
	}
	buf := make([]byte, 0, n)
	if prefix != "" {
		buf = append(append(buf, prefix...), ':')
	}
	for i, p := range parts {
		if i > 0 {
			buf = append(buf, ':')
		}
		buf = append(buf, p...)
	}
	if suffix != "" {
		buf = append(append(buf, ':'), suffix...)
	}
	return string(buf)
}
