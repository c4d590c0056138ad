// Package conformance holds the behaviour suites that every session store
// and every framework adapter of sessiongo must pass, and that users run
// against their own implementations, in the spirit of testing/fstest.TestFS
// and golang.org/x/net/nettest.TestConn.
//
//	import "github.com/sessiongo/session/conformance"
package conformance
