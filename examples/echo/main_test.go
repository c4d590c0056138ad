package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	m, err := newManager("demo-test-secret")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(m))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func() string {
		t.Helper()
		resp, err := c.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	post := func(path string, form url.Values) {
		t.Helper()
		resp, err := c.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	if body := get(); !strings.Contains(body, `action="/login"`) {
		t.Fatalf("no login form before login:\n%s", body)
	}
	post("/login", url.Values{"user": {"alice"}, "remember": {"on"}})
	body := get()
	for _, want := range []string{"Signed in as <b>alice</b>", "Remember me</dt><dd>true", "idling 15m0s"} {
		if !strings.Contains(body, want) {
			t.Fatalf("after login, page lacks %q:\n%s", want, body)
		}
	}
	post("/visit", nil)
	if body := get(); !strings.Contains(body, "visits:1") {
		t.Fatalf("visit not counted:\n%s", body)
	}
	u, _ := url.Parse(srv.URL)
	names := map[string]bool{}
	for _, ck := range jar.Cookies(u) {
		names[ck.Name] = true
	}
	if !names["session"] || !names["remember"] {
		t.Fatalf("cookies after login = %v, want session and remember", names)
	}
	post("/logout", nil)
	if body := get(); !strings.Contains(body, `action="/login"`) {
		t.Fatalf("still signed in after logout:\n%s", body)
	}
	if len(jar.Cookies(u)) != 0 {
		t.Fatalf("cookies left after logout: %v", jar.Cookies(u))
	}
}
