// Package loadtest is the load-and-fault harness of sessiongo: virtual
// users sign in to the example app (examples/nethttp, built and run by
// package exampleapp) on each store, then count visits, look at the page,
// log out and sign in again, while the harness restarts, fails over or
// stops the store's server (scripts/faultsrv.sh). It reports, per store and
// mode, the requests, the errors by class, the errors outside the fault
// windows (which fail the run), the acknowledged saves found lost later
// (which fail the run where the store promises durability), the recovery
// after each fault, latency percentiles and the app's memory at the start
// and the end.
//
//	import "github.com/sessiongo/session/internal/loadtest"
//
// It is run by scripts/load.sh (short in .ci/run, long by hand); see the
// README. Internal: not part of the library's API.
package loadtest
