package sqlstore_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// limitSpy is the store with its every interface, recording the Limit of
// each save.
type limitSpy struct {
	*sqlstore.Store
	mu     sync.Mutex
	limits []int
}

func (s *limitSpy) Set(ctx context.Context, name, key string, value []byte, opts store.SetOptions) error {
	s.mu.Lock()
	s.limits = append(s.limits, opts.Limit)
	s.mu.Unlock()
	return s.Store.Set(ctx, name, key, value, opts)
}

// TestDevicesThroughCore runs "your devices" and the cap through core on
// every database: Devices lists each browser once with its times and
// facts, a save moves its last seen time, and a Manager with
// MaxSessionsPerSubject hands the cap of a login to the store
// (SetOptions.Limit), which ends the browser that expires soonest.
func TestDevicesThroughCore(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
		ctx := context.Background()
		st, _ := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
		spy := &limitSpy{Store: st}
		clk := &clock{now: t0}
		m, err := session.New(session.Config{
			Secret: "sqlstore devices test secret", Store: spy, StoreMetadata: true,
			Remember: true, RememberSafety: "None", Clock: clk.Now,
			MaxSessionsPerSubject: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		serve := func(cookies []*http.Cookie, h func(s *session.Session) error) []*http.Cookie {
			t.Helper()
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "http://example.test/", nil)
			for _, c := range cookies {
				r.AddCookie(c)
			}
			if err := h(m.NewSession(adapter.NewHTTP(w, r))); err != nil {
				t.Fatal(err)
			}
			got := w.Result().Cookies()
			for _, c := range cookies { // a jar: new cookies replace old ones
				if !slices.ContainsFunc(got, func(n *http.Cookie) bool { return n.Name == c.Name }) {
					got = append(got, c)
				}
			}
			return got
		}
		loginOn := func(label string) []*http.Cookie {
			t.Helper()
			return serve(nil, func(s *session.Session) error {
				s.SetSubject("alice")
				s.SetDeviceFacts(session.DeviceFacts{UserAgent: "UA " + label, IP: "192.0.2.1", Label: label})
				return s.Save()
			})
		}
		phone := loginOn("phone")
		clk.Add(time.Minute)
		laptop := loginOn("laptop")
		clk.Add(time.Minute)
		phone = serve(phone, func(s *session.Session) error { // an ordinary save: a rotation
			if err := s.Open(); err != nil {
				return err
			}
			s.Set("seen", true)
			return s.Save()
		})

		ds, err := m.Devices(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 {
			t.Fatalf("Devices = %+v; want the phone and the laptop", ds)
		}
		want := []struct {
			label         string
			created, seen time.Time
		}{
			{"phone", t0, t0.Add(2 * time.Minute)},
			{"laptop", t0.Add(time.Minute), t0.Add(time.Minute)},
		}
		for i, w := range want {
			got := ds[i]
			if got.Facts.Label != w.label || got.Facts.UserAgent != "UA "+w.label || got.Facts.IP != "192.0.2.1" ||
				!got.Created.Equal(w.created) || !got.LastSeen.Equal(w.seen) || got.Kind != session.CookieRemember {
				t.Fatalf("device %d = %+v; want the %s created %v, seen %v, with its facts and remember cookie", i, got, w.label, w.created, w.seen)
			}
		}

		// A third browser: the cap of 2 ends the laptop, which expires
		// soonest (the phone's save renewed it).
		clk.Add(time.Minute)
		tablet := loginOn("tablet")
		ds, err = m.Devices(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, d := range ds {
			labels = append(labels, d.Facts.Label)
		}
		if !slices.Equal(labels, []string{"tablet", "phone"}) {
			t.Fatalf("Devices after a third login = %v; want the tablet and the phone", labels)
		}
		for name, jar := range map[string][]*http.Cookie{"phone": phone, "tablet": tablet, "laptop": laptop} {
			serve(jar, func(s *session.Session) error {
				err := s.Open()
				if (err == nil) != (name != "laptop") {
					t.Errorf("opening the %s: %v", name, err)
				}
				return nil
			})
		}
		spy.mu.Lock()
		defer spy.mu.Unlock()
		// Three logins and one rotation, each a session and a remember
		// record: only the logins' session records carry the cap.
		if want := []int{2, 0, 2, 0, 0, 0, 2, 0}; !slices.Equal(spy.limits, want) {
			t.Fatalf("SetOptions.Limit of the saves = %v; want %v", spy.limits, want)
		}
	})
}
