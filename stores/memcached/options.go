package memcachedstore

// Option configures a Store made by New.
type Option func(*Store)

// WithPrefix puts prefix and a colon before every key the store writes, as
// the reference's prefix setting: "prefix:name:key". An empty prefix adds
// nothing.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// WithSuffix puts a colon and suffix after every key the store writes, as
// the reference's suffix setting: "name:key:suffix". An empty suffix adds
// nothing.
func WithSuffix(suffix string) Option {
	return func(s *Store) { s.suffix = suffix }
}
