package loadtest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Class is the class of a request's outcome: OK, or the kind of error.
type Class string

// The classes of outcome.
const (
	// OK is a request answered as the virtual user expected.
	OK Class = "ok"
	// HTTP5xx is a 5xx answer: the app's bare 500 when its store fails, or
	// the 503 of its request deadline.
	HTTP5xx Class = "5xx"
	// HTTPOther is any other unexpected status.
	HTTPOther Class = "status"
	// Timeout is a request that got no answer within the client's timeout.
	Timeout Class = "timeout"
	// Transport is a connection error between the user and the app.
	Transport Class = "transport"
	// WrongPage is an answer no correct app gives whatever its store does:
	// another user's page, or a counter above every save the user made.
	// It fails a run wherever it happens, in a fault window or not.
	WrongPage Class = "wrong-page"
)

// classes lists the error classes in the order reports show them.
var classes = []Class{HTTP5xx, HTTPOther, Timeout, Transport, WrongPage}

// Result is one request of a virtual user.
type Result struct {
	// Start and End bound the request, on the harness's clock.
	Start, End time.Time
	// Op is what the user did: login, page, visit, logout, replay, final.
	Op string
	// Class is the outcome.
	Class Class
}

// EventKind says what a user found wrong with the app's state.
type EventKind string

// The kinds of events.
const (
	// Lost is an acknowledged write found missing: a session gone, a
	// counter gone back, or a logout undone, with no failed request since
	// the user's last acknowledged save that could explain it.
	Lost EventKind = "lost"
	// GoneAfterError is a session gone after a request of the user failed
	// since its last acknowledged save. Every save gives the session a new
	// storage key and leaves the old record readable for StaleTTL (10 s);
	// a save that failed as seen by the client may still have been applied,
	// and then the record the client's cookie names expires with the stale
	// TTL. Reported, never a failure.
	GoneAfterError EventKind = "gone-after-error"
	// Wrong is a page no correct app gives (see WrongPage).
	Wrong EventKind = "wrong"
)

// Event is something a user found wrong with the app's state.
type Event struct {
	// At is when it was seen.
	At time.Time
	// Kind is what it is.
	Kind EventKind
	// Saves is the number of acknowledged saves missing (Lost): a session
	// gone counts its sign-in and its acknowledged visits, a logout undone
	// counts one.
	Saves int64
	// What says what was seen.
	What string
}

// recorder collects the results and events of one app's users; it is
// safe for concurrent use.
type recorder struct {
	mu      sync.Mutex
	results []Result
	events  []Event
}

func (r *recorder) add(res Result) {
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
}

func (r *recorder) event(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// snapshot returns copies of what was recorded.
func (r *recorder) snapshot() ([]Result, []Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Result(nil), r.results...), append([]Event(nil), r.events...)
}

// classify returns the class of a request that ended with status and err
// (err nil: an answer came) when want was the expected status.
func classify(status int, err error, want int) Class {
	switch {
	case err != nil:
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return Timeout
		}
		return Transport
	case status == want:
		return OK
	case status >= http.StatusInternalServerError:
		return HTTP5xx
	default:
		return HTTPOther
	}
}
