package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	m, err := newManager("demo-test-secret")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(m)
	done := make(chan struct{})
	go func() {
		defer close(done)
		app.Listener(ln) //nolint:errcheck // closed below
	}()
	defer func() {
		app.Shutdown() //nolint:errcheck // the test is over
		ln.Close()     // in case Serve had not started
		<-done
	}()
	srvURL := "http://" + ln.Addr().String()
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Jar: jar, Transport: tr}
	get := func() string {
		t.Helper()
		resp, err := c.Get(srvURL + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	post := func(path string, form url.Values) {
		t.Helper()
		resp, err := c.PostForm(srvURL+path, form)
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
	u, _ := url.Parse(srvURL)
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
