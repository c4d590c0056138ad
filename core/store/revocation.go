package store

import (
	"context"
	"time"
)

// Mark is one revocation mark: a session that carries Key and was created at
// or before At is revoked. Keys are built by the session library, not by
// the store: a kind, a colon and 43 base64url characters of a SHA-256
// ("sid:…" for one session, "sub:…" for a subject of an audience, "key:…"
// for an application key), so they are short, printable ASCII and never
// carry a subject or an identity provider's id in the clear.
type Mark struct {
	Key string        // what is revoked
	At  time.Time     // sessions created at or before At are revoked (second precision)
	TTL time.Duration // how long the mark must be kept, at least one second
}

// Revoker is implemented by stores that can serve as the revocation backend
// of cookie sessions (Config.Revocation). It must be safe for concurrent use.
type Revoker interface {
	// Revoke writes marks. When a key already has a live mark, the stored
	// mark keeps the later of the two At values and the later of the two
	// expiries: a revocation is never weakened or shortened by another.
	Revoke(ctx context.Context, marks []Mark, now time.Time) error

	// Revoked returns, for each key in keys and in the same order, the At
	// of its live mark, or the zero Time when it has none. Stores answer
	// all keys in one round trip where the server allows it. An error means
	// the answer is unknown (the caller applies its fail mode); it is never
	// used to say "not revoked".
	Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error)
}
