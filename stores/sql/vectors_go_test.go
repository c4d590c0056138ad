package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

var b64 = base64.RawURLEncoding.EncodeToString

// vectorServers are the databases the Go side of the vectors runs on, with
// the vectors whose rows they take: SQLite, which the reference has no
// storage for, takes the PostgreSQL vectors' rows in its own dialect.
var vectorServers = []struct {
	database
	storage string
}{
	{databases[0], "postgres"},
	{databases[1], "mysql"},
	{databases[2], "postgres"},
}

// forEachVector runs f on every vector of a server (not the one whose save
// failed) as subtests database/vector.
func forEachVector(t *testing.T, f func(t *testing.T, db *sql.DB, d sqlstore.Dialect, vec vector)) {
	v := loadVectors(t)
	for _, server := range vectorServers {
		t.Run(server.name, func(t *testing.T) {
			db := server.open(t)
			for _, vec := range v.Vectors {
				if vec.Storage == server.storage {
					t.Run(vec.Name, func(t *testing.T) { f(t, db, server.dialect, vec) })
				}
			}
		})
	}
}

// pinnedIDs is the Rand of a Manager that draws the vector's session ids,
// SHA-256(pin:n) for n = 1, 2, ..., as the reference's were pinned.
type pinnedIDs struct {
	pin   string
	n     int
	buf   []byte
	drawn []string
}

func (p *pinnedIDs) Read(b []byte) (int, error) {
	for i := range b {
		if len(p.buf) == 0 {
			p.n++
			sum := sha256.Sum256(fmt.Appendf(nil, "%s:%d", p.pin, p.n))
			p.buf = sum[:]
			p.drawn = append(p.drawn, b64(sum[:]))
		}
		b[i], p.buf = p.buf[0], p.buf[1:]
	}
	return len(b), nil
}

// manager returns a Manager configured from the vector's configuration,
// with the step's merged over it (session.ParseConfig reads the reference's
// option names), on st, at the step's time.
func manager(t *testing.T, vec vector, st vectorStep, s session.Store, ids *pinnedIDs) *session.Manager {
	t.Helper()
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(vec.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(st.Config) > 0 {
		var over map[string]json.RawMessage
		if err := json.Unmarshal(st.Config, &over); err != nil {
			t.Fatal(err)
		}
		maps.Copy(cfg, over)
	}
	b, _ := json.Marshal(cfg)
	c, err := session.ParseConfig(b)
	if err != nil {
		t.Fatalf("ParseConfig(%s): %v", b, err)
	}
	if _, ok := cfg["cookie_secure"]; !ok {
		c.DisableSecure = true // the reference's default; the Go library's is Secure (Config.DisableSecure)
	}
	c.Store = s
	now := time.Unix(st.Request.Time, 0)
	c.Clock = func() time.Time { return now }
	if ids != nil {
		c.Rand = ids
	}
	m, err := session.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// request returns a request with the Cookie header cookies, if any.
func request(cookies *string) (*httptest.ResponseRecorder, *http.Request) {
	r := httptest.NewRequest(http.MethodGet, "http://example.test/", nil)
	if cookies != nil {
		r.Header.Set("Cookie", *cookies)
	}
	return httptest.NewRecorder(), r
}

// loadRows replaces the rows of both tables with the vector's rows.
func loadRows(t *testing.T, db *sql.DB, d sqlstore.Dialect, table string, rows []vectorRow) {
	t.Helper()
	for _, tb := range []string{table + "_meta", table} {
		if _, err := db.Exec("DELETE FROM " + tb); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"sessions", "sessions_meta"} { // records first
		for _, r := range rows {
			if r.Table != want {
				continue
			}
			var err error
			if r.Table == "sessions" {
				_, err = db.Exec("INSERT INTO "+table+" (sid, name, data, exp) VALUES ("+placeholders(d, 3)+", "+at(d, 4)+")",
					r.Sid, r.Name, r.Data, r.ExpAt)
			} else {
				_, err = db.Exec("INSERT INTO "+table+"_meta (aud, sub, sid) VALUES ("+placeholders(d, 3)+")", r.Aud, r.Sub, r.Sid)
			}
			if err != nil {
				t.Fatalf("load %v: %v", r, err)
			}
		}
	}
}

// listedFromRows returns the entries Manager.Sessions must list for the
// rows: the records indexed under the encoded audience and subject that
// are live at now, the remember cookie's flagged, soonest expiry first.
func listedFromRows(rows []vectorRow, aud, sub, remember string, now int64) []store.IndexEntry {
	records := map[string]vectorRow{}
	for _, r := range rows {
		if r.Table == "sessions" {
			records[r.Sid] = r
		}
	}
	var out []store.IndexEntry
	for _, r := range rows {
		rec, ok := records[r.Sid]
		if r.Table == "sessions_meta" && r.Aud == aud && r.Sub == sub && ok && rec.ExpAt >= now {
			out = append(out, store.IndexEntry{Key: r.Sid, Expires: time.Unix(rec.ExpAt, 0), Remember: rec.Name == remember})
		}
	}
	slices.SortFunc(out, func(a, b store.IndexEntry) int {
		if c := a.Expires.Compare(b.Expires); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

func sameEntries(got, want []store.IndexEntry) bool {
	key := func(es []store.IndexEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s %d %v", e.Key, e.Expires.Unix(), e.Remember))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(got), key(want))
}

// TestReferenceRowsOpen loads the rows lua-resty-session wrote at each step
// of the vectors into the store's tables and opens the step's cookies with
// a Go Manager configured from the vector: the same data, subject and
// audience, or no session where the reference found none. Manager.Sessions
// lists the recorded sessions (also the reference's rows of a session with
// two audiences, indexed under the subject in clear), and RevokeSessions
// ends them, rows and index rows gone.
func TestReferenceRowsOpen(t *testing.T) {
	forEachVector(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect, vec vector) {
		ctx := context.Background()
		s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
		var subject string
		for _, st := range vec.Steps {
			if st.Subject != nil {
				subject = *st.Subject
			}
		}
		for i, st := range vec.Steps {
			loadRows(t, db, d, table, st.Store.After)
			if st.Cmd == "open" {
				m := manager(t, vec, st, s, nil)
				w, r := request(st.Request.CookieHeader)
				sess := m.NewSession(adapter.NewHTTP(w, r))
				err := sess.Open()
				if want := *st.Result.Exists; sess.Exists() != want {
					t.Fatalf("step %d: open = exists %v, %v; the reference: exists %v, err %v",
						i, sess.Exists(), err, want, st.Result.Err)
				}
				if !sess.Exists() {
					if !errors.Is(err, session.ErrNotFound) {
						t.Fatalf("step %d: open error %v; want ErrNotFound (the reference: %q)", i, err, *st.Result.Err)
					}
					continue
				}
				if !reflect.DeepEqual(sess.Data(), st.Result.Data) || sess.Subject() != *st.Result.Subject ||
					sess.Audience() != *st.Result.Audience {
					t.Fatalf("step %d: open = %v, subject %q, audience %q; the reference: %v, %q, %q", i,
						sess.Data(), sess.Subject(), sess.Audience(), st.Result.Data, *st.Result.Subject, *st.Result.Audience)
				}
			}

			// The index, in the vector's audience.
			m := manager(t, vec, vectorStep{Request: st.Request}, s, nil)
			aud := b64([]byte("app-a"))
			// Both indexes: the encoded subject's, and the one the
			// reference keeps under the subject in clear for a session of
			// two or more audiences, which the Manager reads too.
			want := listedFromRows(st.Store.After, aud, b64([]byte(subject)), m.RememberCookieName(), st.Request.Time)
			for _, e := range listedFromRows(st.Store.After, aud, subject, m.RememberCookieName(), st.Request.Time) {
				if !slices.ContainsFunc(want, func(w store.IndexEntry) bool { return w.Key == e.Key }) {
					want = append(want, e)
				}
			}
			got, err := m.Sessions(ctx, subject)
			if err != nil || !sameEntries(got, want) {
				t.Fatalf("step %d: Manager.Sessions = %v, %v; want %v", i, got, err, want)
			}
			if i > 0 || len(want) == 0 {
				continue
			}
			// After the login: revoke, and the login's cookies open no more.
			if n, err := m.RevokeSessions(ctx, subject); err != nil || n != len(want) {
				t.Fatalf("RevokeSessions = %d, %v; want %d", n, err, len(want))
			}
			for _, row := range readRows(t, db, d, table) {
				if slices.ContainsFunc(want, func(e store.IndexEntry) bool { return e.Key == row.Sid }) {
					t.Fatalf("%v left after RevokeSessions", row)
				}
			}
			var cookies []string
			for name, value := range st.JarAfter {
				cookies = append(cookies, name+"="+value)
			}
			header := strings.Join(cookies, "; ")
			w, r := request(&header)
			sess := m.NewSession(adapter.NewHTTP(w, r))
			if err := sess.Open(); sess.Exists() || !errors.Is(err, session.ErrNotFound) {
				t.Fatalf("the login's cookies after RevokeSessions: exists %v, %v; want ErrNotFound", sess.Exists(), err)
			}
		}
	})
}

// goDeparture holds what the Go library writes differently from the
// reference in a vector step, each a documented difference
// (docs/stores.md): the rows Go has deleted that the reference keeps, and
// the expiry Go gives a record.
type goDeparture struct {
	deleted map[string]bool  // sids
	exp     map[string]int64 // sid -> Go's expiry
}

// expected returns the rows Go must leave after step st: the reference's,
// less the records Go deleted (and their index rows), with Go's expiries,
// and the subjects of a session with several audiences encoded.
func (g *goDeparture) expected(st vectorStep, subject string) []vectorRow {
	var want []vectorRow
	for _, r := range st.Store.After {
		if g.deleted[r.Sid] {
			continue
		}
		if exp, ok := g.exp[r.Sid]; ok && r.Table == "sessions" {
			r.ExpAt = exp
		}
		if r.Table == "sessions_meta" && r.Sub == subject {
			// 4.1.5 indexes a session with two or more audiences under the
			// subject in clear; the Go library encodes it as always.
			r.Sub = b64([]byte(subject))
		}
		want = append(want, r)
	}
	sortRows(want)
	return want
}

// TestGoWritesReferenceRows runs the steps of each vector with the Go
// library, with the pinned session ids and the recorded clock, on the
// store's tables, and compares what it writes with what the reference
// wrote: the ids drawn, the Set-Cookie lines, and after each step every
// row (sid, name, data, exp within a second, index rows), but for the
// documented differences (docs/stores.md):
//
//   - a logout of one audience deletes the replaced record at once (the
//     reference keeps it for the stale TTL);
//   - Delete ends the whole group: a destroy leaves none of the session's
//     stale records (the reference deletes the current ones only);
//   - a record's TTL is cut by the absolute timeout (the reference's is the
//     rolling timeout: the refresh scenario's new record lives 5 s, not 12);
//   - a session with two audiences is indexed under the encoded subject.
func TestGoWritesReferenceRows(t *testing.T) {
	forEachVector(t, func(t *testing.T, db *sql.DB, d sqlstore.Dialect, vec vector) {
		s, table := newStore(t, db, d, sqlstore.WithCleanupProbability(0))
		ids := &pinnedIDs{pin: vec.Pin}
		g := &goDeparture{deleted: map[string]bool{}, exp: map[string]int64{}}
		var cfg struct {
			Absolute *int64 `json:"absolute_timeout"`
		}
		if err := json.Unmarshal(vec.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		var subject string
		var created int64 // the session's creation time
		for i, st := range vec.Steps {
			if st.Subject != nil {
				subject = *st.Subject
			}
			if i == 0 {
				created = st.Request.Time
			}
			drawn := len(ids.drawn)
			m := manager(t, vec, st, s, ids)
			w, r := request(st.Request.CookieHeader)
			err := run(m, w, r, st)
			if err != nil {
				t.Fatalf("step %d (%s): %v", i, st.Cmd, err)
			}

			var wantIDs []string
			for _, sid := range st.Sids {
				wantIDs = append(wantIDs, sid.Sid)
			}
			if got := ids.drawn[drawn:]; !slices.Equal(got, wantIDs) && (len(got) > 0 || len(wantIDs) > 0) {
				t.Fatalf("step %d (%s): ids drawn %v; the reference drew %v", i, st.Cmd, got, wantIDs)
			}
			if got := w.Result().Header.Values("Set-Cookie"); !slices.Equal(got, st.SetCookie) && (len(got) > 0 || len(st.SetCookie) > 0) {
				t.Fatalf("step %d (%s): Set-Cookie\n\t%q\nthe reference's\n\t%q", i, st.Cmd, got, st.SetCookie)
			}

			for _, c := range st.StorageCalls {
				switch {
				case c.Method == "set" && st.Cmd == "logout" && c.Args.OldKey != "":
					g.deleted[c.Args.OldKey] = true // the logged-out audience's record goes at once
				case c.Method == "set" && cfg.Absolute != nil:
					left := *cfg.Absolute - (c.Args.CurrentTime - created)
					if left < c.Args.TTL {
						g.exp[c.Args.Key] = c.Args.CurrentTime + left // the TTL ends with the session
					}
				case c.Method == "delete":
					for _, r := range st.Store.After { // the group: every record of this browser session
						g.deleted[r.Sid] = true
					}
				}
			}
			wantRows(t, fmt.Sprintf("step %d (%s)", i, st.Cmd), readRows(t, db, d, table), g.expected(st, subject), 1)
		}
	})
}

// run performs a vector step with the Go library.
func run(m *session.Manager, w http.ResponseWriter, r *http.Request, st vectorStep) error {
	switch st.Cmd {
	case "make":
		s := m.NewSession(adapter.NewHTTP(w, r))
		if st.OpenFirst {
			if err := s.Open(); err == nil || st.Result.OpenErr == nil {
				return fmt.Errorf("open first = %v; the reference: %v", err, st.Result.OpenErr)
			}
		}
		if st.Subject != nil {
			s.SetSubject(*st.Subject)
		}
		s.SetData(st.Data)
		return s.Save()
	case "open":
		s, err := m.Open(w, r)
		if err != nil {
			return err
		}
		if s.Exists() != *st.Result.Exists {
			return fmt.Errorf("exists %v; the reference: %v", s.Exists(), *st.Result.Exists)
		}
		if s.Exists() && !reflect.DeepEqual(s.Data(), st.Result.Data) {
			return fmt.Errorf("data %v; the reference: %v", s.Data(), st.Result.Data)
		}
		return nil
	case "save":
		s, err := m.Open(w, r)
		if err != nil || !s.Exists() {
			return fmt.Errorf("open: exists %v, %v", s.Exists(), err)
		}
		s.SetData(st.Data)
		return s.Save()
	case "start":
		s, err := m.Start(w, r)
		if err != nil || !s.Exists() {
			return fmt.Errorf("start: exists %v, %v", s.Exists(), err)
		}
		return nil
	case "logout":
		return m.Logout(w, r)
	case "destroy":
		return m.Destroy(w, r)
	}
	return fmt.Errorf("unknown command %q", st.Cmd)
}
