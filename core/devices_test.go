package session

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// dvLogin signs subject in on a new browser, recording facts when given.
func dvLogin(t testing.TB, m *Manager, subject string, facts *DeviceFacts) stJar {
	t.Helper()
	j := stJar{}
	j.serve(t, func(w http.ResponseWriter, r *http.Request) {
		s := newHTTP(m, w, r)
		s.SetSubject(subject)
		if facts != nil {
			s.SetDeviceFacts(*facts)
		}
		if err := s.Save(); err != nil {
			t.Fatalf("save: %v", err)
		}
	})
	return j
}

// dvSession runs f on the jar's opened session.
func dvSession(t testing.TB, m *Manager, j stJar, f func(s *Session)) {
	t.Helper()
	j.serve(t, func(w http.ResponseWriter, r *http.Request) {
		s, err := openHTTP(m, w, r)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		f(s)
	})
}

// dvCountingStore counts the Sets of the store it wraps.
type dvCountingStore struct {
	*MemoryStore
	sets atomic.Int64
}

func (c *dvCountingStore) Set(ctx context.Context, name, key string, v []byte, o store.SetOptions) error {
	c.sets.Add(1)
	return c.MemoryStore.Set(ctx, name, key, v, o)
}

// dvNoGroupInfo keeps the subject index and hides GroupInfo.
type dvNoGroupInfo struct {
	Store
	store.SubjectIndex
}

func TestDevices(t *testing.T) {
	ctx := context.Background()
	clock := newStoreClock()
	st := &dvCountingStore{MemoryStore: newTestMemoryStore(t)}
	m := stManager(t, st, clock, nil)

	phone := dvLogin(t, m, "alice", &DeviceFacts{UserAgent: "Phone/1", IP: "192.0.2.1", Label: "phone"})
	t0 := clock.Now()
	clock.Add(time.Minute)
	laptop := dvLogin(t, m, "alice", &DeviceFacts{UserAgent: "Laptop/2", IP: "2001:db8::1"})
	bob := dvLogin(t, m, "bob", nil)

	ds, err := m.Devices(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 {
		t.Fatalf("alice has %d devices, want 2 (session and remember records linked): %+v", len(ds), ds)
	}
	// Most recently seen first.
	if ds[0].Facts.UserAgent != "Laptop/2" || ds[1].Facts != (DeviceFacts{UserAgent: "Phone/1", IP: "192.0.2.1", Label: "phone"}) {
		t.Fatalf("devices facts = %+v, %+v", ds[0].Facts, ds[1].Facts)
	}
	for i, d := range ds {
		if d.Kind != CookieRemember {
			t.Errorf("device %d kind %q, want remember (Config.Remember)", i, d.Kind)
		}
		if len(d.records) != 2 {
			t.Errorf("device %d has %d records, want its session and remember records", i, len(d.records))
		}
		if d.ID == "" || strings.Contains(d.ID, d.records[0].Key) || d.Current {
			t.Errorf("device %d: ID %q, Current %v", i, d.ID, d.Current)
		}
	}
	if !ds[1].Created.Equal(t0) || !ds[1].LastSeen.Equal(t0) || !ds[0].Created.Equal(t0.Add(time.Minute)) {
		t.Errorf("times: %+v", ds)
	}
	if want := t0.Add(DefaultRememberRollingTimeout); !ds[1].Expires.Equal(want) {
		t.Errorf("phone expires %v, want %v (its remember record's)", ds[1].Expires, want)
	}
	if ds[0].ID == ds[1].ID {
		t.Fatal("two browsers share a device ID")
	}

	// A visit within the touch threshold writes nothing and moves nothing.
	sets := st.sets.Load()
	clock.Add(time.Minute)
	dvSession(t, m, phone, func(s *Session) {
		if err := s.Refresh(); err != nil {
			t.Fatal(err)
		}
	})
	if n := st.sets.Load() - sets; n != 0 {
		t.Fatalf("a visit wrote %d store records", n)
	}
	// A save moves LastSeen and keeps Created and the facts.
	clock.Add(time.Minute)
	seen := clock.Now()
	dvSession(t, m, phone, func(s *Session) {
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	})
	ds, _ = m.Devices(ctx, "alice")
	if len(ds) != 2 || !ds[0].LastSeen.Equal(seen) || !ds[0].Created.Equal(t0) || ds[0].Facts.Label != "phone" {
		t.Fatalf("after the phone saved: %+v", ds)
	}

	// Session.Devices marks the current browser.
	dvSession(t, m, laptop, func(s *Session) {
		ds, err := s.Devices(ctx)
		if err != nil || len(ds) != 2 || ds[0].Current || !ds[1].Current || ds[1].Facts.UserAgent != "Laptop/2" {
			t.Fatalf("laptop's Devices = %+v, %v", ds, err)
		}
	})

	// Sign out all other devices, from the laptop.
	var n int
	dvSession(t, m, laptop, func(s *Session) {
		n, err = m.RevokeOtherSessions(ctx, s)
	})
	if err != nil || n != 1 {
		t.Fatalf("RevokeOtherSessions = %d, %v; want 1", n, err)
	}
	if err := stOpenErr(t, m, phone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the phone opens after RevokeOtherSessions: %v", err)
	}
	// The laptop keeps both records: its remember cookie alone restores it.
	if err := stOpenErr(t, m, laptop); err != nil {
		t.Fatalf("the laptop after RevokeOtherSessions: %v", err)
	}
	rj := stJar{m.RememberCookieName(): laptop[m.RememberCookieName()]}
	if err := stOpenErr(t, m, rj); err != nil {
		t.Fatalf("the laptop's remember cookie after RevokeOtherSessions: %v", err)
	}
	if err := stOpenErr(t, m, bob); err != nil {
		t.Fatalf("another user after RevokeOtherSessions: %v", err)
	}

	// Sign out one device by ID; an unknown or foreign ID is no error.
	bobs, _ := m.Devices(ctx, "bob")
	if ok, err := m.RevokeDevice(ctx, "alice", bobs[0].ID); ok || err != nil {
		t.Fatalf("RevokeDevice of bob's device as alice = %v, %v", ok, err)
	}
	if err := stOpenErr(t, m, bob); err != nil {
		t.Fatalf("bob after alice tried his device ID: %v", err)
	}
	ds, _ = m.Devices(ctx, "alice")
	if ok, err := m.RevokeDevice(ctx, "alice", ds[0].ID); !ok || err != nil {
		t.Fatalf("RevokeDevice = %v, %v", ok, err)
	}
	if err := stOpenErr(t, m, laptop); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the laptop after RevokeDevice: %v", err)
	}
	if ds, _ := m.Devices(ctx, "alice"); len(ds) != 0 {
		t.Fatalf("devices left: %+v", ds)
	}
}

func TestDevicesWithoutGroupInfo(t *testing.T) {
	ctx := context.Background()
	clock := newStoreClock()
	mem := newTestMemoryStore(t)
	m := stManager(t, dvNoGroupInfo{mem, mem}, clock, nil)
	dvLogin(t, m, "alice", &DeviceFacts{Label: "x"})
	ds, err := m.Devices(ctx, "alice")
	if err != nil || len(ds) != 2 {
		t.Fatalf("Devices = %+v, %v; want one device per record", ds, err)
	}
	for _, d := range ds {
		if !d.Created.IsZero() || d.Facts != (DeviceFacts{}) {
			t.Errorf("device without group info has times or facts: %+v", d)
		}
	}

	cookie := stManager(t, nil, clock, func(c *Config) { c.Store = nil; c.StoreMetadata = false })
	if _, err := cookie.Devices(ctx, "alice"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Devices with cookie storage: %v, want ErrInvalidConfig", err)
	}
}

func TestSetDeviceFactsCuts(t *testing.T) {
	tests := []struct {
		name string
		in   DeviceFacts
		want DeviceFacts
	}{
		{"short", DeviceFacts{UserAgent: "ua", IP: "ip", Label: "l"}, DeviceFacts{UserAgent: "ua", IP: "ip", Label: "l"}},
		{"long", DeviceFacts{UserAgent: strings.Repeat("a", 600), IP: strings.Repeat("1", 70), Label: strings.Repeat("é", 100)},
			DeviceFacts{UserAgent: strings.Repeat("a", 512), IP: strings.Repeat("1", 64), Label: strings.Repeat("é", 64)}},
		{"invalid utf-8", DeviceFacts{Label: "a\xffb"}, DeviceFacts{Label: "a\ufffdb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newStoreClock()
			m := stManager(t, newTestMemoryStore(t), clock, nil)
			dvLogin(t, m, "alice", &tt.in)
			ds, err := m.Devices(context.Background(), "alice")
			if err != nil || len(ds) != 1 || ds[0].Facts != tt.want {
				t.Fatalf("Devices = %+v, %v; want facts %+v", ds, err, tt.want)
			}
		})
	}
}
