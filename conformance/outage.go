package conformance

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
)

// Timings of TestStoreOutage: every call gets a context with
// outageDeadline and must return within outageSlack of it.
const (
	outageDeadline = 200 * time.Millisecond
	outageSlack    = 200 * time.Millisecond
)

// outageSecret keys the sessions that TestStoreOutage saves.
const outageSecret = "sessiongo conformance outage rule"

// TestStoreOutage checks how a server-backed store behaves when its server
// goes away under a working application. store must be connected to a
// server of the test's own (a throwaway process), and breakServer must
// break that server: kill it, freeze it (SIGSTOP), or cut the network, and
// return once the server is broken.
//
// With the server up, TestStoreOutage saves and opens a session through
// the session library. It then calls breakServer and checks, each step a
// subtest, that with a request deadline of 200 ms every call returns within
// 200 ms past that deadline, without a panic, and that:
//
//   - through the library, opening the saved session, saving a new one and
//     destroying one fail with an error matching session.ErrStore and not
//     session.ErrNotFound (a store failure is not a missing session), as do
//     Manager.Sessions and Manager.RevokeSessions when the store implements
//     session.SubjectIndex;
//   - the store's own Get, Set and Delete fail, and Get's error does not
//     match session.ErrNotFound.
//
// A frozen server is the hard case: the store must give up when the
// request's context ends, rather than wait for its client's own timeout.
func TestStoreOutage(t *testing.T, store session.Store, breakServer func()) {
	t.Helper()
	_, index := store.(session.SubjectIndex)
	m, err := session.New(session.Config{Secret: outageSecret, Store: store, StoreMetadata: index})
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
			s := m.New(w, r)
			s.SetSubject("alice")
			s.Set("user", "alice")
			err = s.Save()
		})
		return cookies, err
	}
	open := func(ctx context.Context, cookies []*http.Cookie) error {
		var err error
		serve(ctx, cookies, func(w http.ResponseWriter, r *http.Request) { _, _, err = m.Open(w, r) })
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
	steps := []struct {
		name  string
		index bool // needs session.SubjectIndex
		call  func(ctx context.Context) error
		ok    func(err error) bool
		want  string
	}{
		{"open", false, func(ctx context.Context) error { return open(ctx, cookies) }, storeFailure, wantLibrary},
		{"save", false, func(ctx context.Context) error {
			_, err := login(ctx)
			return err
		}, storeFailure, wantLibrary},
		{"destroy", false, func(ctx context.Context) error {
			var err error
			serve(ctx, cookies, func(w http.ResponseWriter, r *http.Request) { _, _, err = m.Destroy(w, r) })
			return err
		}, storeFailure, wantLibrary},
		{"manager_sessions", true, func(ctx context.Context) error {
			_, err := m.Sessions(ctx, session.DefaultAudience, "alice")
			return err
		}, storeFailure, wantLibrary},
		{"manager_revoke_sessions", true, func(ctx context.Context) error {
			_, err := m.RevokeSessions(ctx, session.DefaultAudience, "alice")
			return err
		}, storeFailure, wantLibrary},
		{"store_get", false, func(ctx context.Context) error {
			_, err := store.Get(ctx, sessionName, newKey(), session.GetOptions{Now: time.Now()})
			return err
		}, failed, wantStore},
		{"store_set", false, func(ctx context.Context) error {
			return store.Set(ctx, sessionName, newKey(), []byte("v"), session.SetOptions{TTL: time.Minute, Now: time.Now()})
		}, failed, wantStore},
		{"store_delete", false, func(ctx context.Context) error {
			return store.Delete(ctx, sessionName, newKey(), session.DeleteOptions{Now: time.Now()})
		}, failed, wantStore},
	}
	for _, st := range steps {
		if st.index && !index {
			continue
		}
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
				t.Errorf("%s with the server broken took %v, past the request's %v deadline: the store must give up when the context ends", st.name, took, outageDeadline)
			}
		})
	}
}
