package session

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestMaxSessionsPerSubject(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		refuse bool
	}{{"end oldest", false}, {"refuse", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newStoreClock()
			m := stManager(t, newTestMemoryStore(t), clock, func(c *Config) {
				c.MaxSessionsPerSubject = 2
				c.RefuseOverLimit = tt.refuse
			})
			first := dvLogin(t, m, "alice", &DeviceFacts{Label: "first"})
			clock.Add(time.Minute)
			second := dvLogin(t, m, "alice", &DeviceFacts{Label: "second"})
			clock.Add(time.Minute)
			bob := dvLogin(t, m, "bob", nil)
			var err error
			third := stJar{}
			third.serve(t, func(w http.ResponseWriter, r *http.Request) {
				s := newHTTP(m, w, r)
				s.SetSubject("alice")
				s.SetDeviceFacts(DeviceFacts{Label: "third"})
				err = s.Save()
			})
			ds, _ := m.Devices(ctx, "alice")
			if tt.refuse {
				if !errors.Is(err, ErrSessionLimit) {
					t.Fatalf("a third login: %v, want ErrSessionLimit", err)
				}
				if len(third) != 0 {
					t.Fatalf("a refused login set cookies: %v", third)
				}
				if len(ds) != 2 || stOpenErr(t, m, first) != nil || stOpenErr(t, m, second) != nil {
					t.Fatalf("after a refused login: %+v", ds)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if len(ds) != 2 || ds[0].Facts.Label != "third" || ds[1].Facts.Label != "second" {
					t.Fatalf("devices after a third login: %+v; want the third and the second", ds)
				}
				if err := stOpenErr(t, m, first); !errors.Is(err, ErrNotFound) {
					t.Fatalf("the oldest session after a third login: %v, want ErrNotFound", err)
				}
				rj := stJar{m.RememberCookieName(): first[m.RememberCookieName()]}
				if err := stOpenErr(t, m, rj); !errors.Is(err, ErrNotFound) {
					t.Fatalf("the oldest session's remember cookie after a third login: %v", err)
				}
			}
			if err := stOpenErr(t, m, bob); err != nil {
				t.Fatalf("another subject: %v", err)
			}
			// A save of an existing session is no login: never refused.
			dvSession(t, m, second, func(s *Session) {
				if err := s.Save(); err != nil {
					t.Fatalf("a save of an existing session: %v", err)
				}
			})
		})
	}
}

func TestMaxSessionsPerSubjectConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
	}{
		{"negative", func(c *Config) { c.MaxSessionsPerSubject = -1 }},
		{"refuse without a cap", func(c *Config) { c.RefuseOverLimit = true }},
		{"no metadata", func(c *Config) { c.MaxSessionsPerSubject = 1; c.StoreMetadata = false }},
		{"cookie storage", func(c *Config) { c.MaxSessionsPerSubject = 1; c.Store = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Secret: "limit test secret", Store: newTestMemoryStore(t), StoreMetadata: true}
			tt.cfg(&cfg)
			if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: %v, want ErrInvalidConfig", err)
			}
		})
	}
}
