package session

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

func TestRawSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		subject     string
		plain, hash bool // whether the raw index is read without and with HashSubject
	}{
		{"alice@example.com", true, true},
		{"alice", true, true},    // not base64url (5 characters)
		{"12345678", true, true}, // base64url of bytes that are not UTF-8
		{"550e8400-e29b-41d4-a716-446655440000", true, true},
		{"YWxpY2U", false, true},                 // "alice", encoded
		{"K9gGyX8OAK8aH8Myj6djqQ", true, false},  // "alice", hashed: 16 bytes, not UTF-8
		{"QUFBQUFBQUFBQUFBQUFBQQ", false, false}, // 16 bytes that are UTF-8 text too
		{"", false, false},
	}
	plain := mustNew(t, Config{Secret: "raw subject test secret"})
	hashed := mustNew(t, Config{Secret: "raw subject test secret", HashSubject: true})
	for _, tt := range tests {
		if got := plain.rawSubject(tt.subject); got != tt.plain {
			t.Errorf("rawSubject(%q) = %v, want %v", tt.subject, got, tt.plain)
		}
		if got := hashed.rawSubject(tt.subject); got != tt.hash {
			t.Errorf("with HashSubject, rawSubject(%q) = %v, want %v", tt.subject, got, tt.hash)
		}
	}
}

// refRecords makes the records of the jar's session and remember cookies
// look as the reference leaves those of a session of several audiences:
// each a group of its own, indexed under md (the subject as given).
func refRecords(t *testing.T, st *MemoryStore, m *Manager, j stJar, now time.Time, md *store.Metadata) map[string]string {
	t.Helper()
	keys := map[string]string{} // cookie name -> storage key
	for _, name := range []string{m.CookieName(), m.RememberCookieName()} {
		h, err := ParseHeader(j[name])
		if err != nil {
			t.Fatalf("cookie %s: %v", name, err)
		}
		key, _ := m.StorageKey(h.SessionID)
		v, err := st.Get(context.Background(), name, key, store.GetOptions{Now: now})
		if err != nil {
			t.Fatalf("record of cookie %s: %v", name, err)
		}
		stSet(t, st, name, key, string(v), store.SetOptions{TTL: time.Hour, Now: now, Metadata: md})
		keys[name] = key
	}
	return keys
}

// TestManagerSessionsReferenceAudiences: the index methods find the
// sessions of several audiences that the reference indexes under the
// subject as given, and a "log out everywhere" ends them.
func TestManagerSessionsReferenceAudiences(t *testing.T) {
	ctx := context.Background()
	const subject = "alice@example.com"
	for _, hash := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain subject", true: "hashed subject"}[hash], func(t *testing.T) {
			t.Parallel()
			clock := newStoreClock()
			st := newTestMemoryStore(t)
			noIndex := func(aud string) *Manager {
				return stManager(t, st, clock, func(c *Config) { c.HashSubject = hash; c.Audience = aud; c.StoreMetadata = false })
			}
			// A session of two audiences, then its records as the reference
			// leaves them.
			two := stLogin(t, noIndex("app-a"), subject)
			two.serve(t, func(w http.ResponseWriter, r *http.Request) {
				s := newHTTP(noIndex("app-b"), w, r)
				if err := s.Open(); !errors.Is(err, ErrNotFound) {
					t.Fatalf("open in app-b before its entry: %v", err)
				}
				s.SetSubject(subject)
				if err := s.Save(); err != nil {
					t.Fatal(err)
				}
			})
			raw := &store.Metadata{Audiences: []string{b64.EncodeToString([]byte("app-a")), b64.EncodeToString([]byte("app-b"))}, Subjects: []string{subject, subject}}
			refKeys := refRecords(t, st, noIndex("app-a"), two, clock.Now(), raw)

			m := stManager(t, st, clock, func(c *Config) { c.HashSubject = hash; c.Audience = "app-a" })
			goSession := stLogin(t, m, subject) // indexed under the encoded subject
			entries, err := m.Sessions(ctx, subject)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 4 {
				t.Fatalf("Sessions = %v, want the Go session's two records and the reference's two", entries)
			}
			for name, key := range refKeys {
				i := slices.IndexFunc(entries, func(e store.IndexEntry) bool { return e.Key == key })
				if i < 0 || entries[i].Remember != (name == m.RememberCookieName()) {
					t.Errorf("Sessions = %v, does not list the reference's %s record %s", entries, name, key)
				}
			}

			// One device: the reference's session record. Its records are
			// groups of one, so its remember record stays.
			if err := m.RevokeSession(ctx, subject, refKeys[m.CookieName()]); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Get(ctx, m.CookieName(), refKeys[m.CookieName()], store.GetOptions{Now: clock.Now()}); !errors.Is(err, ErrNotFound) {
				t.Errorf("the revoked record: %v, want ErrNotFound", err)
			}
			if left, _ := m.Sessions(ctx, subject); len(left) != 3 {
				t.Errorf("after RevokeSession, Sessions = %v; want 3 records", left)
			}

			n, err := m.RevokeSessions(ctx, subject)
			if err != nil || n != 3 {
				t.Fatalf("RevokeSessions = %d, %v; want 3 (the reference's remember record, the Go session's two)", n, err)
			}
			for _, aud := range []string{"app-a", "app-b"} {
				if err := stOpenErr(t, noIndex(aud), two); !errors.Is(err, ErrNotFound) {
					t.Errorf("the reference's session in %s after RevokeSessions: %v, want ErrNotFound", aud, err)
				}
			}
			if err := stOpenErr(t, m, goSession); !errors.Is(err, ErrNotFound) {
				t.Errorf("the Go session after RevokeSessions: %v, want ErrNotFound", err)
			}
			for _, name := range []string{m.CookieName(), m.RememberCookieName()} {
				if e := stIndexKeys(t, st, name, raw.Audiences[0], subject, clock.Now()); len(e) != 0 {
					t.Errorf("the reference's index of %s after RevokeSessions lists %v", name, e)
				}
			}
		})
	}
}

// TestManagerSessionsRawSubjectConfusion: a subject that is another user's
// encoded subject does not reach that user's sessions through the
// reference's index of the subject as given.
func TestManagerSessionsRawSubjectConfusion(t *testing.T) {
	ctx := context.Background()
	for _, hash := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain subject", true: "hashed subject"}[hash], func(t *testing.T) {
			t.Parallel()
			clock := newStoreClock()
			st := newTestMemoryStore(t)
			m := stManager(t, st, clock, func(c *Config) { c.HashSubject = hash })
			alice := stLogin(t, m, "alice")
			mallory := m.encodeSubject("alice") // signs up with alice's index name
			if e, err := m.Sessions(ctx, mallory); err != nil || len(e) != 0 {
				t.Errorf("Sessions(%q) = %v, %v; want none of alice's", mallory, e, err)
			}
			if n, err := m.RevokeSessions(ctx, mallory); err != nil || n != 0 {
				t.Errorf("RevokeSessions(%q) = %d, %v; want 0", mallory, n, err)
			}
			if err := stOpenErr(t, m, alice); err != nil {
				t.Errorf("alice's session after RevokeSessions(%q): %v", mallory, err)
			}
		})
	}
}
