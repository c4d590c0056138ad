// Package demo holds what the sessiongo example apps share and is not
// session code: the page template, the Manager they all configure and the
// end-to-end test every example runs. The session code (login, the page's
// reads, visit, logout) is in each example's main.go, in its framework's
// idiom. It imports core and the standard library only:
//
//	import "github.com/sessiongo/session/examples/demo"
//
// It is part of the examples, not of the library: its API may change with
// them.
package demo
