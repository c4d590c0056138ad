package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
	sqlstore "github.com/sessiongo/session/stores/sql"
)

// TestLongSubjects indexes subjects and audiences of 1,000 bytes (1,334
// encoded), far wider than MySQL's 255-byte columns, on every database and
// on MariaDB in non-strict mode, where a value too long for its column is
// cut short with a warning instead of failing: two subjects that share
// their first 1,000 bytes must stay apart.
func TestLongSubjects(t *testing.T) {
	forEachDatabase(t, testLongSubjects)
	t.Run("mariadb-nonstrict", func(t *testing.T) {
		// The server's DSN (from the environment in CI) with sql_mode=''.
		dsn := env("SESSIONGO_MYSQL_DSN", defaultMySQLDSN)
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		db := openServer(t, "mysql", "SESSIONGO_MYSQL_NONSTRICT_DSN", dsn+sep+"sql_mode=%27%27")
		var mode string
		if err := db.QueryRow("SELECT @@SESSION.sql_mode").Scan(&mode); err != nil || mode != "" {
			t.Fatalf("sql_mode = %q, %v; want non-strict (empty)", mode, err)
		}
		testLongSubjects(t, db, sqlstore.MySQL)
	})
}

func testLongSubjects(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
	ctx := context.Background()
	enc := base64.RawURLEncoding.EncodeToString
	long := strings.Repeat("x", 1000)
	aud := enc([]byte(strings.Repeat("a", 1000)))
	alice, bob := enc([]byte(long+"alice")), enc([]byte(long+"bob"))
	widest := strings.Repeat("c", 255) // the widest value stored as it is

	s, table := newStore(t, db, d)
	md := func(sub string) *store.Metadata {
		return &store.Metadata{Audiences: []string{aud}, Subjects: []string{sub}}
	}
	set(t, s, "session", "a1", "a", store.SetOptions{Metadata: md(alice)})
	set(t, s, "session", "b1", "b", store.SetOptions{Metadata: md(bob)})
	set(t, s, "session", "c1", "c", store.SetOptions{Metadata: md(widest)})
	for sub, want := range map[string]string{alice: "a1", bob: "b1", widest: "c1"} {
		if got := listed(t, s, "session", md(sub), t0); !slices.Equal(got, []string{want}) {
			t.Fatalf("Sessions of a %d-byte subject = %v; want [%s]", len(sub), got, want)
		}
	}
	var sub string
	if err := db.QueryRow("SELECT sub FROM "+table+"_meta WHERE sid = "+ph(d), "c1").Scan(&sub); err != nil || sub != widest {
		t.Fatalf("index row of a 255-byte subject holds %q, %v; want the subject itself", sub, err)
	}
	if err := db.QueryRow("SELECT sub FROM "+table+"_meta WHERE sid = "+ph(d), "a1").Scan(&sub); err != nil ||
		sub != sqlstore.IndexValue(alice) || !strings.HasPrefix(sub, "sha256:") {
		t.Fatalf("index row of a long subject holds %q, %v; want its digest", sub, err)
	}

	// A save indexes the new key of the long subject, the old one until
	// its stale TTL ends; Delete removes both (one group).
	set(t, s, "session", "a2", "a", store.SetOptions{OldKey: "a1", StaleTTL: 10 * time.Second, Metadata: md(alice)})
	if got := listed(t, s, "session", md(alice), t0); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("Sessions after a save = %v; want [a1 a2]", got)
	}
	if got := listed(t, s, "session", md(alice), t0.Add(11*time.Second)); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("Sessions after the stale TTL = %v; want [a2]", got)
	}
	if err := s.Delete(ctx, "session", "a2", store.DeleteOptions{Now: t0, Metadata: md(alice)}); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s, "session", md(alice), t0); len(got) != 0 {
		t.Fatalf("Sessions after Delete = %v; want none", got)
	}
	if got := listed(t, s, "session", md(bob), t0); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("Sessions of the other long subject = %v; want [b1]", got)
	}

	// Through the session library: log in, list, revoke.
	a := newApp(t, s)
	user := strings.Repeat("u", 1000)
	code, _, cookie := a.do(t, "/login?user="+user, "")
	if code != http.StatusOK {
		t.Fatalf("login with a 1,000-byte subject: %d", code)
	}
	if got, err := a.m.Sessions(ctx, user); err != nil || len(got) != 1 {
		t.Fatalf("Manager.Sessions = %v, %v; want 1 session", got, err)
	}
	if n, err := a.m.RevokeSessions(ctx, user); err != nil || n != 1 {
		t.Fatalf("RevokeSessions = %d, %v; want 1", n, err)
	}
	if code, _, _ := a.do(t, "/read", cookie); code != http.StatusUnauthorized {
		t.Fatalf("read after revocation: %d; want 401", code)
	}
}
