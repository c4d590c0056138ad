// Package demo holds what the sessiongo example apps share and is not
// session code: the page template (Page), the loopback test that decides
// whether cookies may go over plain HTTP (Loopback), and the end-to-end test
// every example runs (Exercise, with the clock, failing revocation backend
// and log its Manager is given: Env). The session code (configuration,
// sign-in, the page's typed reads, log out, log out everywhere) is in each
// example's main.go, in its framework's idiom. It imports core and the
// standard library only:
//
//	import "github.com/sessiongo/session/examples/demo"
//
// It is part of the examples, not of the library: its API may change with
// them.
package demo
