// Package demo holds what the sessiongo example apps share: the page, the
// view of a session, the login, visit and logout steps, the Manager they all
// configure and the end-to-end test every example runs. Each example keeps
// only its framework's wiring (routes, middleware, accessor) and calls in
// here, so the apps differ only where the frameworks do. It imports core and
// the standard library only:
//
//	import "github.com/sessiongo/session/examples/demo"
//
// It is part of the examples, not of the library: its API may change with
// them.
package demo
