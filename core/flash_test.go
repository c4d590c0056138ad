package session

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

type flashNotice struct {
	Level string    `json:"level"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"`
}

func TestFlashes(t *testing.T) {
	for _, storage := range []string{"cookie", "memory store"} {
		t.Run(storage, func(t *testing.T) {
			cfg := Config{}
			if storage != "cookie" {
				cfg.Store = newTestMemoryStore(t)
			}
			h := newHarness(t, cfg)
			s, r := h.request()
			s.Flash("notice", "saved")
			s.Flash("notice", 3)
			s.Flash("other", true)
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			h.commit(r)

			s, r = h.request()
			if err := s.Open(); err != nil {
				t.Fatal(err)
			}
			if got, want := s.Flashes("notice"), []any{"saved", 3.0}; !reflect.DeepEqual(got, want) {
				t.Fatalf("Flashes = %#v, want %#v", got, want)
			}
			if got := s.Flashes("notice"); got != nil {
				t.Fatalf("Flashes a second time = %#v, want nil", got)
			}
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			h.commit(r)

			s, err := h.open()
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Flashes("notice"); got != nil {
				t.Fatalf("Flashes after they were read and saved = %#v, want nil", got)
			}
			if got := s.Flashes("other"); !reflect.DeepEqual(got, []any{true}) {
				t.Fatalf("the flashes of another key = %#v, want [true]", got)
			}
		})
	}
}

// TestFlashesSameInEveryRequest checks that messages read in the request
// that added them have the types they have in a later request.
func TestFlashesSameInEveryRequest(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	add := func(s *Session) {
		s.Flash("n", flashNotice{"info", "hello", at})
		s.Flash("n", flashNotice{"warn", "careful", at.Add(time.Hour)})
		s.Flash("any", int64(9007199254740993))
		s.Flash("any", []byte("b"))
	}
	wantTyped := []flashNotice{{"info", "hello", at}, {"warn", "careful", at.Add(time.Hour)}}
	wantAny := []any{float64(9007199254740993), "Yg=="}

	h := newHarness(t, Config{})
	s, r := h.request()
	add(s)
	if got, err := PopFlashes[flashNotice](s, "n"); err != nil || !reflect.DeepEqual(got, wantTyped) {
		t.Fatalf("PopFlashes in the same request = %#v, %v; want %#v", got, err, wantTyped)
	}
	if got := s.Flashes("any"); !reflect.DeepEqual(got, wantAny) {
		t.Fatalf("Flashes in the same request = %#v, want %#v", got, wantAny)
	}
	add(s)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	h.commit(r)

	s, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := PopFlashes[flashNotice](s, "n"); err != nil || !reflect.DeepEqual(got, wantTyped) {
		t.Fatalf("PopFlashes in the next request = %#v, %v; want %#v", got, err, wantTyped)
	}
	if got, err := PopFlashes[flashNotice](s, "n"); got != nil || err != nil {
		t.Fatalf("PopFlashes a second time = %#v, %v; want nil, nil", got, err)
	}
	s.Flash("any", "x")
	if got, err := PopFlashes[int64](s, "any"); !errors.Is(err, ErrInvalid) || got != nil {
		t.Fatalf("PopFlashes[int64] of mixed messages = %#v, %v; want an error matching ErrInvalid", got, err)
	}
	if got, want := s.Flashes("any"), append(wantAny, "x"); !reflect.DeepEqual(got, want) {
		t.Fatalf("messages after a failed PopFlashes = %#v, want them kept: %#v", got, want)
	}
	s.Close()
	if _, err := PopFlashes[string](s, "n"); !errors.Is(err, ErrClosed) {
		t.Fatalf("PopFlashes on a closed session: %v, want ErrClosed", err)
	}
	s.Flash("n", "ignored")
	if s.Flashes("n") != nil {
		t.Fatal("Flashes on a closed session returned messages")
	}
}

// TestFlashKeysApart checks that flash messages, data keys and info keys
// never share a stored key, whatever the keys.
func TestFlashKeysApart(t *testing.T) {
	for _, storage := range []string{"cookie", "memory store"} {
		t.Run(storage, func(t *testing.T) {
			cfg := Config{}
			if storage != "cookie" {
				cfg.Store = newTestMemoryStore(t)
			}
			h := newHarness(t, cfg)
			s, r := h.request()
			keys := []string{"x", "_flash:x", "$_flash:x", "$$_flash:x", "@x", "_flash", "$", ""}
			if storage != "cookie" {
				// With cookie storage the reference stores data key "@x"
				// as "$@x", where data key "$@x" is too.
				keys = append(keys, "$@x")
			}
			for _, k := range keys {
				s.Set(k, "data "+k)
				s.Flash(k, "flash "+k)
				s.Info().Set(k, "info "+k)
			}
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			if err := s.Info().Save(); err != nil {
				t.Fatal(err)
			}
			h.commit(r)
			s, err := h.open()
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if got := s.Get(k); got != "data "+k {
					t.Errorf("Get(%q) = %v", k, got)
				}
				if got := s.Info().Get(k); got != "info "+k {
					t.Errorf("Info().Get(%q) = %v", k, got)
				}
				if got := s.Flashes(k); !reflect.DeepEqual(got, []any{"flash " + k}) {
					t.Errorf("Flashes(%q) = %v", k, got)
				}
			}
			if got := s.Data()["_flash:x"]; got != nil {
				t.Errorf("the flashes of x are still stored after Flashes: %v", got)
			}
			if got := s.Data()["$_flash:x"]; got != "data _flash:x" {
				t.Errorf(`data key "_flash:x" is stored as %v under "$_flash:x", want it there`, got)
			}
		})
	}
}

// TestFlashAutoSave checks that the middleware's AutoSave saves a flash
// and its removal.
func TestFlashAutoSave(t *testing.T) {
	m := mustNew(t, Config{Secret: "flash auto-save secret"})
	var got []any
	h := m.Middleware(WithAutoSave())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := FromRequest(r)
		if r.URL.Path == "/set" {
			s.Flash("notice", "saved")
			http.Redirect(w, r, "/show", http.StatusSeeOther)
			return
		}
		got = s.Flashes("notice")
	}))
	jar := stJar{}
	for _, step := range []struct {
		path string
		want []any
	}{{"/set", nil}, {"/show", []any{"saved"}}, {"/show", nil}} {
		got = nil
		jar.serve(t, func(w http.ResponseWriter, r *http.Request) {
			r.URL.Path = step.path
			h.ServeHTTP(w, r)
		})
		if !reflect.DeepEqual(got, step.want) {
			t.Fatalf("%s: Flashes = %v, want %v", step.path, got, step.want)
		}
	}
}
