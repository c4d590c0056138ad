package session

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestSecurityDestroyEndsRememberCookie: a remember cookie issued at an
// earlier login must not restore a session after a logout, even when the
// session turned remember off since (SetRemember(false) sets the FORGET
// flag, and the next saves leave the browser's remember cookie alone).
func TestSecurityDestroyEndsRememberCookie(t *testing.T) {
	stores := []struct {
		name  string
		store func(t *testing.T) Store
	}{
		{"cookie storage", func(*testing.T) Store { return nil }},
		{"memory store", func(*testing.T) Store { return newTestMemoryStore(t) }},
		{"file store", func(t *testing.T) Store { return newTestFileStore(t) }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			clock := newStoreClock()
			m := stManager(t, st.store(t), clock, nil)
			j := stLogin(t, m, "alice") // with a remember cookie
			if _, ok := j[m.RememberCookieName()]; !ok {
				t.Fatal("no remember cookie after login")
			}
			j.serve(t, func(w http.ResponseWriter, r *http.Request) {
				s, err := openHTTP(m, w, r)
				if err != nil {
					t.Fatal(err)
				}
				s.SetRemember(false) // "don't remember me" from now on
				if err := s.Save(); err != nil {
					t.Fatal(err)
				}
			})
			before := j.clone()
			j.serve(t, func(w http.ResponseWriter, r *http.Request) {
				if err := m.Destroy(w, r); err != nil {
					t.Fatal(err)
				}
			})
			if _, ok := j[m.RememberCookieName()]; ok {
				t.Errorf("the remember cookie is still in the browser after Destroy")
			}
			if err := stOpenErr(t, m, j); err == nil {
				t.Fatalf("the browser opens a session after Destroy")
			}
			if st.name != "cookie storage" {
				// A copy of the remember cookie must not restore it either.
				rj := stJar{m.RememberCookieName(): before[m.RememberCookieName()]}
				if err := stOpenErr(t, m, rj); err == nil {
					t.Fatalf("a copy of the remember cookie restores the session after Destroy")
				}
			}
		})
	}
}

// TestOpenOversizedHeaderOneKind: a genuine header whose data size claims
// more than nine cookies is an invalid cookie (ErrInvalid), and nothing
// else: every error wraps exactly one sentinel.
func TestOpenOversizedHeaderOneKind(t *testing.T) {
	m := mustNew(t, Config{Secret: "one kind of error per failure"})
	r := newRecorder("")
	s := m.NewSession(r)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	value := strings.TrimPrefix(strings.SplitN(r.setCookies[0], ";", 2)[0], m.CookieName()+"=")
	var raw [headerSize]byte
	var h header
	if err := decodeHeader(value, &raw, &h); err != nil {
		t.Fatal(err)
	}
	h.dataSize = 1<<24 - 1 // far more than nine cookies hold
	h.marshal(&raw)
	mac := m.keys[0].mac(h.sid[:], raw[:headerMACSize], s.bindHash(h.flags))
	copy(raw[headerMACSize:], mac[:])
	forged := m.CookieName() + "=" + b64.EncodeToString(raw[:])
	err := m.NewSession(newRecorder(forged)).Open()
	if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge) {
		t.Fatalf("Open of a header claiming %d characters of data = %v; want ErrInvalid only", h.dataSize, err)
	}
}
