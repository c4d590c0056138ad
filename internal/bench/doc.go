// Package bench compares sessiongo with other Go session libraries, side by
// side in one run, and measures what the session middleware costs a real
// HTTP server. Import it as
//
//	import "github.com/sessiongo/session/internal/bench"
//
// or, as most users will, run it:
//
//	scripts/bench.sh                 # the work table and the HTTP table
//	go run ./internal/bench/cmd/benchtable -h # the same, with every option
//
// # The work table
//
// Every cell is one library on one storage doing one kind of work, one
// request at a time, through the library's own net/http middleware (or
// fasthttp's, for Fiber) called in process: no network between client and
// handler, the storage servers on loopback. The kinds of work are:
//
//   - new: a request without a session sets 3 small values and saves;
//   - read: a request with that session reads a value;
//   - update: a request with it reads a value, sets one and saves;
//   - large: the same update of a session that also holds a 2,000-character
//     blob (random base64url text, as a token or an id list is);
//   - large read: a read of that large session.
//
// Updates follow the cookies each response sets, as a browser does, so a
// library that issues a new session id on every save (sessiongo) is
// measured as it is used.
//
// Each cell is compared with a floor measured in the same round: the
// standard-library work of one encrypted cookie holding the same data,
// done the plain way (JSON, HKDF-SHA256 for the keys, AES-256-GCM seal or
// open, HMAC-SHA256 over a header, base64url). A new session costs the
// floor's seal, a read its open, an update both. The table gives each
// cell's time as a ratio to that floor: on a shared or noisy machine read
// the ratios, not the microseconds. Rounds interleave every cell (each
// kind of work: its floor, every library, its floor again), and the table
// prints the median over the rounds.
//
// # The HTTP table
//
// The chi example's middleware setup (chisession.Middleware, cookie
// storage, remember-me and revocation on, the example's session content)
// serves a handler that reads the signed-in user's profile, next to the
// same router and handler without the middleware (bare). Both listen on
// loopback, and vegeta drives them at full speed in turns, in the same
// process; the table gives requests per second, p50 and p99 latency, and
// the session server's share of the bare server's rate.
package bench
