package redisstore

import "time"

// Option configures a Store made by New; New reports a bad value as an
// error matching session.ErrInvalidConfig.
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

// WithWaitReplicas makes every save and delete wait until at least replicas
// replicas have acknowledged it (Redis's WAIT, sent in the same round trip),
// for at most timeout (0 waits forever, which is rarely what you want).
// replicas 0 waits for none, as without the option; a negative replicas or
// timeout makes New fail. A
// save that fewer replicas acknowledged in time returns an error matching
// session.ErrStore, although the master kept it. Use it with Sentinel, so
// that a session saved just before a failover is on the promoted replica.
//
// It applies to single servers and Sentinel masters only: in a Redis
// Cluster (or a Ring) the writes of one save go to several nodes over
// connections the store does not control, and the option is ignored there.
func WithWaitReplicas(replicas int, timeout time.Duration) Option {
	return func(s *Store) { s.waitReplicas, s.waitTimeout = replicas, timeout }
}
