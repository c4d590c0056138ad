package memcachedstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
)

func TestBookkeepingKeyNames(t *testing.T) {
	t.Parallel()
	s := mustNew(t, memcache.New(), memcachedstore.WithPrefix("app"), memcachedstore.WithSuffix("v1"))
	if got, want := memcachedstore.PointerKey(s, "session", "KEY"), "app:session:KEY:@group:v1"; got != want {
		t.Errorf("group pointer key = %q, want %q", got, want)
	}
	if got, want := memcachedstore.GroupKey(s, "ID"), "app:@group:ID:v1"; got != want {
		t.Errorf("group list key = %q, want %q", got, want)
	}
}

func TestLongSubject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var raw [750]byte
	rand.Read(raw[:])
	subject := base64.RawURLEncoding.EncodeToString(raw[:]) // 1,000 bytes, as core encodes subjects
	md := &store.Metadata{Audiences: []string{"YXBw"}, Subjects: []string{subject}}
	s, c := newStore(t)

	sum := sha256.Sum256([]byte(subject))
	want := strings.ReplaceAll(s.Key("session", "YXBw"), "%3A", ":") + ":@" + base64.RawURLEncoding.EncodeToString(sum[:])
	ik := s.IndexKey("session", "YXBw", subject)
	if ik != want {
		t.Fatalf("IndexKey of a 1000-byte subject = %q, want %q ([prefix:]name:audience:@ + base64url SHA-256 of the subject, raw: a name the reference never uses)", ik, want)
	}
	short := "YWxpY2U"
	if got := s.IndexKey("session", "YXBw", short); got != s.Key("session", "YXBw")+"%3A"+short {
		t.Fatalf("IndexKey of a short subject = %q, want the reference's layout", got)
	}

	now := time.Now()
	s1, s2, r := key(t), key(t), key(t)
	for _, step := range []struct {
		name, key string
		opts      store.SetOptions
	}{
		{"session", s1, store.SetOptions{}},
		{"session", s2, store.SetOptions{OldKey: s1, StaleTTL: time.Hour}},
		{"remember", r, store.SetOptions{Partner: store.RecordKey{Name: "session", Key: s2}}},
	} {
		step.opts.TTL, step.opts.Now, step.opts.Metadata = time.Hour, now, md
		if err := s.Set(ctx, step.name, step.key, []byte("v"), step.opts); err != nil {
			t.Fatalf("Set with a 1000-byte subject: %v", err)
		}
	}
	if _, err := c.Get(ik); err != nil {
		t.Fatalf("no index list under %q: %v", ik, err)
	}
	entries, err := s.Sessions(ctx, "session", "YXBw", subject, now)
	if err != nil || len(entries) != 1 || entries[0].Key != s2 {
		t.Fatalf("Sessions of a 1000-byte subject = %v, %v; want the rotated record only", entries, err)
	}
	if err := s.Delete(ctx, "session", s2, store.DeleteOptions{Now: now, Metadata: md}); err != nil {
		t.Fatalf("Delete with a 1000-byte subject: %v", err)
	}
	for _, name := range []string{"session", "remember"} {
		if entries, err := s.Sessions(ctx, name, "YXBw", subject, now); err != nil || len(entries) != 0 {
			t.Fatalf("Sessions(%s) after Delete = %v, %v; want none", name, entries, err)
		}
	}
}

// TestKeysCheckedFirst gives keys that no rule can make valid: the call
// fails before it writes anything.
func TestKeysCheckedFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := key(t)
	// A record key of 246 bytes is valid; its group pointer key (7 bytes
	// more) is not.
	long := strings.Repeat("p", 246-len(":session:")-len(k))
	longAudience := &store.Metadata{Audiences: []string{strings.Repeat("A", 240)}, Subjects: []string{"YWxpY2U"}}
	tests := []struct {
		name   string
		prefix string
		key    string
		opts   store.SetOptions
	}{
		{"group pointer key too long", long, k, store.SetOptions{}},
		{"index key too long with the subject hashed", "", k, store.SetOptions{Metadata: longAudience}},
		{"old key memcached refuses", "", k, store.SetOptions{OldKey: "a b"}},
		{"partner name with a separator", "", k, store.SetOptions{Partner: store.RecordKey{Name: "re:member", Key: key(t)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := newStore(t)
			if tt.prefix != "" {
				// Never written to, so no test shares its keys.
				s = mustNew(t, c, memcachedstore.WithPrefix(tt.prefix))
			}
			tt.opts.TTL, tt.opts.Now = time.Hour, time.Now()
			if err := s.Set(ctx, "session", tt.key, []byte("v"), tt.opts); !errors.Is(err, session.ErrStore) {
				t.Fatalf("Set: %v, want ErrStore", err)
			}
			if _, err := c.Get(s.Key("session", tt.key)); !errors.Is(err, memcache.ErrCacheMiss) {
				t.Fatalf("the record was written before the bad key was found: %v", err)
			}
			if err := s.Delete(ctx, "session", tt.key, store.DeleteOptions{Metadata: tt.opts.Metadata}); tt.opts.Metadata != nil && !errors.Is(err, session.ErrStore) {
				t.Fatalf("Delete with metadata whose index key is too long: %v, want ErrStore", err)
			}
		})
	}
}
