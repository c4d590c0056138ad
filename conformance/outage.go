package conformance

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// Timings of TestStoreOutage: every call gets a context with
// outageDeadline and must return within outageSlack of it. The slack is
// generous, for a busy machine; a store that waits for its client's own
// timeout instead of the context still fails when that timeout is longer
// (tests give their clients a minute).
const (
	outageDeadline = 200 * time.Millisecond
	outageSlack    = 5 * time.Second
)

// outageSecret keys the sessions that TestStoreOutage saves.
const outageSecret = "sessiongo conformance outage rule"

// TestStoreOutage checks how a server-backed store behaves when its server
// goes away under a working application. st must be connected to a
// server of the test's own (a throwaway process), and breakServer must
// break that server: kill it, freeze it (SIGSTOP), or cut the network, and
// return once the server is broken.
//
// With the server up, TestStoreOutage saves and opens a session through
// the session library. It then calls breakServer and checks, each step a
// subtest (the steps run at the same time), that with a request deadline of
// 200 ms every call returns within 5 s past that deadline, without a panic,
// and that:
//
//   - through the library, opening the saved session, saving a new one and
//     destroying one fail with an error matching session.ErrStore and not
//     session.ErrNotFound (a store failure is not a missing session), as do
//     Manager.Sessions and Manager.RevokeSessions when the store implements
//     store.SubjectIndex;
//   - the store's own Get, Set and Delete fail, and Get's error does not
//     match session.ErrNotFound.
//
// A frozen server is the hard case: the store must give up when the
// request's context ends, rather than wait for its client's own timeout.
// The 5 s margin keeps the rule from failing on a busy machine; give the
// store's client timeouts well above it (a minute, say), so that a store
// that waits for them rather than for the context fails the rule.
func TestStoreOutage(t *testing.T, st session.Store, breakServer func()) {
	t.Helper()
	_, index := st.(store.SubjectIndex)
	m, err := session.New(session.Config{Secret: outageSecret, Store: st, StoreMetadata: index})
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	serve := func(ctx context.Context, cookies []*http.Cookie, h func(w http.ResponseWriter, r *http.Request)) []*http.Cookie {
		r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil).WithContext(ctx)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h(w, r)
		return w.Result().Cookies()
	}
	login := func(ctx context.Context) ([]*http.Cookie, error) {
		var err error
		cookies := serve(ctx, nil, func(w http.ResponseWriter, r *http.Request) {
			s := newSession(m, w, r)
			s.SetSubject("alice")
			s.Set("user", "alice")
			err = s.Save()
		})
		return cookies, err
	}
	open := func(ctx context.Context, cookies []*http.Cookie) error {
		var err error
		serve(ctx, cookies, func(w http.ResponseWriter, r *http.Request) { _, err = openSession(m, w, r) })
		return err
	}

	cookies, err := login(context.Background())
	if err != nil {
		t.Fatalf("saving a session with the server up: %v", err)
	}
	if err := open(context.Background(), cookies); err != nil {
		t.Fatalf("opening a session with the server up: %v", err)
	}

	breakServer()

	// storeFailure is what the library must report; failed, what the
	// store itself must (the Store contract does not ask for ErrStore).
	storeFailure := func(err error) bool {
		return errors.Is(err, session.ErrStore) && !errors.Is(err, session.ErrNotFound)
	}
	failed := func(err error) bool { return err != nil && !errors.Is(err, session.ErrNotFound) }
	const (
		wantLibrary = "an error matching session.ErrStore, not session.ErrNotFound"
		wantStore   = "an error, not one matching session.ErrNotFound"
	)
	steps := []outageStep{
		{"open", false, func(ctx context.Context) error { return open(ctx, cookies) }, storeFailure, wantLibrary},
		{"save", false, func(ctx context.Context) error {
			_, err := login(ctx)
			return err
		}, storeFailure, wantLibrary},
		{"destroy", false, func(ctx context.Context) error {
			var err error
			serve(ctx, cookies, func(w http.ResponseWriter, r *http.Request) { err = destroySession(m, w, r) })
			return err
		}, storeFailure, wantLibrary},
		{"manager_sessions", true, func(ctx context.Context) error {
			_, err := m.Sessions(ctx, "alice")
			return err
		}, storeFailure, wantLibrary},
		{"manager_revoke_sessions", true, func(ctx context.Context) error {
			_, err := m.RevokeSessions(ctx, "alice")
			return err
		}, storeFailure, wantLibrary},
		{"store_get", false, func(ctx context.Context) error {
			_, err := st.Get(ctx, sessionName, newKey(), store.GetOptions{Now: time.Now()})
			return err
		}, failed, wantStore},
		{"store_set", false, func(ctx context.Context) error {
			return st.Set(ctx, sessionName, newKey(), []byte("v"), store.SetOptions{TTL: time.Minute, Now: time.Now()})
		}, failed, wantStore},
		{"store_delete", false, func(ctx context.Context) error {
			return st.Delete(ctx, sessionName, newKey(), store.DeleteOptions{Now: time.Now()})
		}, failed, wantStore},
	}
	// The steps run at the same time, each on a goroutine of its own
	// (testing.T.Run may be called concurrently), so that a store that
	// hangs costs one wait, not one per step.
	var wg sync.WaitGroup
	for _, st := range steps {
		if st.index && !index {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.run(t)
		}()
	}
	wg.Wait()
}

// outageStep is one call TestStoreOutage makes with the server broken.
type outageStep struct {
	name  string
	index bool // needs store.SubjectIndex
	call  func(ctx context.Context) error
	ok    func(err error) bool // the error the call must return
	want  string               // what ok accepts, for the failure message
}

// run runs the step as a subtest of t: the call, under a context with
// outageDeadline, must return within outageSlack past it, without a panic,
// with an error that ok accepts.
func (st outageStep) run(t *testing.T) {
	t.Run(st.name, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), outageDeadline)
		defer cancel()
		start := time.Now()
		panicked := true
		var err error
		func() {
			defer func() {
				if p := recover(); panicked {
					t.Errorf("%s with the server broken panicked: %v", st.name, p)
				}
			}()
			err = st.call(ctx)
			panicked = false
		}()
		took := time.Since(start)
		if !panicked && !st.ok(err) {
			t.Errorf("%s with the server broken: %v; want %s", st.name, err, st.want)
		}
		if took > outageDeadline+outageSlack {
			t.Errorf("%s with the server broken took %v, more than %v past the request's %v deadline: the store must give up when the context ends", st.name, took, outageSlack, outageDeadline)
		}
	})
}
