package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	_ "modernc.org/sqlite" // the program imports the driver it uses

	session "github.com/sessiongo/session/core"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// A store on an embedded SQLite database: migrate, plug the store into the
// session manager, and sessions live in the database while the cookie
// carries only their 110-character header.
func Example() {
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // an in-memory database lives on one connection

	ctx := context.Background()
	if err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil {
		log.Fatal(err)
	}
	store, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{Secret: "change me: a long random secret", Store: store})
	if err != nil {
		log.Fatal(err)
	}

	// A login handler saves a session...
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	s, err := m.Open(w, r)
	if err != nil {
		log.Fatal(err)
	}
	s.Set("user", "alice")
	if err := s.Save(); err != nil {
		log.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]

	// ...and a later request opens it from the database.
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(cookie)
	s, err = m.Open(httptest.NewRecorder(), r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Exists(), s.Get("user"), len(cookie.Value))

	var rows int
	db.QueryRow("SELECT COUNT(*) FROM sessions").Scan(&rows)
	fmt.Println("rows:", rows)
	// Output:
	// true alice 110
	// rows: 1
}

// Schema prints the DDL for teams that manage their schema themselves.
func ExampleSchema() {
	ddl, err := sqlstore.Schema(sqlstore.SQLite, sqlstore.WithTable("web_sessions"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(ddl)
	// Output:
	// CREATE TABLE IF NOT EXISTS web_sessions (
	//   sid  TEXT PRIMARY KEY NOT NULL,
	//   name TEXT NOT NULL,
	//   data TEXT NOT NULL,
	//   exp  INTEGER NOT NULL, -- Unix seconds
	//   grp  TEXT -- sessiongo: the browser session's group; NULL: a group of its own
	// );
	// CREATE INDEX IF NOT EXISTS web_sessions_exp_idx ON web_sessions (exp);
	// CREATE INDEX IF NOT EXISTS web_sessions_grp_idx ON web_sessions (grp);
	// CREATE TABLE IF NOT EXISTS web_sessions_meta (
	//   aud TEXT NOT NULL,
	//   sub TEXT NOT NULL,
	//   sid TEXT NOT NULL REFERENCES web_sessions (sid) ON DELETE CASCADE ON UPDATE CASCADE,
	//   PRIMARY KEY (aud, sub, sid)
	// );
	// CREATE INDEX IF NOT EXISTS web_sessions_meta_sid_idx ON web_sessions_meta (sid);
	// CREATE TABLE IF NOT EXISTS web_sessions_revoked (
	//   mark    TEXT NOT NULL, -- sid:, sub: or key: and a base64url SHA-256
	//   at_unix INTEGER NOT NULL, -- sessions created at or before it (unix seconds) are revoked
	//   exp     INTEGER NOT NULL, -- Unix microseconds
	//   PRIMARY KEY (mark)
	// );
	// CREATE INDEX IF NOT EXISTS web_sessions_rev_exp ON web_sessions_revoked (exp);
	// CREATE TABLE IF NOT EXISTS web_sessions_groups (
	//   grp     TEXT PRIMARY KEY NOT NULL, -- the group of records (grp of the sessions table)
	//   created INTEGER NOT NULL, -- Unix microseconds: the group's first save with a time
	//   seen    INTEGER NOT NULL, -- Unix microseconds: its latest
	//   facts   BLOB, -- the client facts of its latest save with facts; NULL: none
	//   exp     INTEGER NOT NULL -- Unix seconds: the latest expiry of its records saved with a time
	// );
	// CREATE INDEX IF NOT EXISTS web_sessions_gi_exp ON web_sessions_groups (exp);
	// CREATE TABLE IF NOT EXISTS web_sessions_limits (
	//   aud TEXT NOT NULL,
	//   sub TEXT NOT NULL,
	//   exp INTEGER NOT NULL, -- Unix seconds: the expiry of the pair's latest capped login
	//   PRIMARY KEY (aud, sub)
	// );
	// CREATE INDEX IF NOT EXISTS web_sessions_lim_exp ON web_sessions_limits (exp);
}

// A cleaner deletes expired rows every interval until Stop; Stop ends the
// goroutine and waits for it (the *sql.DB stays open: it is the caller's).
func ExampleWithCleanupInterval() {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := sqlstore.Migrate(context.Background(), db, sqlstore.SQLite); err != nil {
		log.Fatal(err)
	}
	store, err := sqlstore.New(db, sqlstore.SQLite, sqlstore.WithCleanupInterval(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Stop()
	fmt.Println("cleaning every minute")
	// Output: cleaning every minute
}

// The subject index lists and revokes a user's sessions through the
// Manager, with Config.StoreMetadata.
func ExampleStore_Sessions() {
	db, err := sql.Open("sqlite", "file::memory:?_pragma=foreign_keys(1)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if err := sqlstore.Migrate(ctx, db, sqlstore.SQLite); err != nil {
		log.Fatal(err)
	}
	store, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{Secret: "change me: a long random secret", Store: store, StoreMetadata: true})
	if err != nil {
		log.Fatal(err)
	}
	for range 2 { // two devices log in
		s, err := m.Open(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/login", nil))
		if err != nil {
			log.Fatal(err)
		}
		s.SetSubject("alice")
		if err := s.Save(); err != nil {
			log.Fatal(err)
		}
	}
	list, _ := m.Sessions(ctx, "alice")
	revoked, _ := m.RevokeSessions(ctx, "alice")
	left, _ := m.Sessions(ctx, "alice")
	fmt.Println(len(list), revoked, len(left))
	// Output: 2 2 0
}
