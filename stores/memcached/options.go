package memcachedstore

// Option configures a Store made by New; New reports a bad value as an
// error matching session.ErrInvalidConfig.
type Option func(*Store)

// WithPrefix puts prefix and a colon before every key the store writes, as
// the reference's prefix setting: "prefix:name:key". An empty prefix adds
// nothing. memcached refuses keys with spaces or control characters, and
// keys longer than 250 bytes: New fails on such a prefix.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// WithSuffix puts a colon and suffix after every key the store writes, as
// the reference's suffix setting: "name:key:suffix". An empty suffix adds
// nothing. New fails on a suffix memcached would refuse in a key, as for
// WithPrefix.
func WithSuffix(suffix string) Option {
	return func(s *Store) { s.suffix = suffix }
}
