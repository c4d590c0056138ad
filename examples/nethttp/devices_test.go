package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/examples/demo"
)

// TestDevicesPage signs alice in on two browsers with sessions in memory
// (-store memory), and signs the others out from the "your devices" page:
// one by its form, then all but this one.
func TestDevicesPage(t *testing.T) {
	t.Parallel()
	st, err := session.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	cfg := newConfig(demo.TestSecret, st, "127.0.0.1:0")
	withDevices(&cfg, st)
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(m))
	defer srv.Close()

	browser := func(ua string) func(method, path string, form url.Values) string {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		return func(method, path string, form url.Values) string {
			t.Helper()
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("User-Agent", ua)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %s", method, path, resp.Status)
			}
			return string(b)
		}
	}
	signedIn := func(body string) bool { return strings.Contains(body, `id="user">alice<`) }
	ids := regexp.MustCompile(`class="device" data-id="([^"]+)"`)
	login := url.Values{"user": {"alice"}, "remember": {"on"}}

	phone, laptop, tablet := browser("Phone/1"), browser("Laptop/2"), browser("Tablet/3")
	for _, b := range []func(string, string, url.Values) string{phone, laptop, tablet} {
		if !signedIn(b("POST", "/login", login)) {
			t.Fatal("login failed")
		}
	}
	if !strings.Contains(laptop("GET", "/", nil), `href="/devices"`) {
		t.Fatal("the page has no link to the devices page")
	}
	page := laptop("GET", "/devices", nil)
	if n := len(ids.FindAllStringSubmatch(page, -1)); n != 3 {
		t.Fatalf("the devices page lists %d devices, want 3:\n%s", n, page)
	}
	if strings.Count(page, `class="current"`) != 1 || !strings.Contains(page, "Phone/1") || !strings.Contains(page, "Tablet/3") {
		t.Fatalf("the devices page:\n%s", page)
	}

	// Sign out the phone by its form: find its row's id.
	row := regexp.MustCompile(`data-id="([^"]+)">\s*<td>Phone/1`).FindStringSubmatch(page)
	if row == nil {
		t.Fatalf("no row for the phone:\n%s", page)
	}
	page = laptop("POST", "/devices/revoke", url.Values{"id": {row[1]}})
	if n := len(ids.FindAllStringSubmatch(page, -1)); n != 2 || strings.Contains(page, "Phone/1") {
		t.Fatalf("after signing the phone out:\n%s", page)
	}
	if signedIn(phone("GET", "/", nil)) {
		t.Fatal("the phone is still signed in")
	}

	page = laptop("POST", "/devices/revoke-others", nil)
	if n := len(ids.FindAllStringSubmatch(page, -1)); n != 1 || !strings.Contains(page, `class="current"`) {
		t.Fatalf("after signing out all other devices:\n%s", page)
	}
	if signedIn(tablet("GET", "/", nil)) {
		t.Fatal("the tablet is still signed in")
	}
	if !signedIn(laptop("GET", "/", nil)) {
		t.Fatal("the laptop was signed out with the others")
	}
	if signedIn(laptop("POST", "/logout", nil)) || signedIn(laptop("POST", "/logout-everywhere", nil)) {
		t.Fatal("logout with sessions in memory")
	}
}

// TestDevicesPageCookieStorage checks that the page tells why it has no
// list with cookie storage.
func TestDevicesPageCookieStorage(t *testing.T) {
	t.Parallel()
	st, _ := session.NewMemoryStore()
	m, err := session.New(newConfig(demo.TestSecret, st, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(m))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if _, err := c.PostForm(srv.URL+"/login", url.Values{"user": {"bob"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(srv.URL + "/devices")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `id="unavailable"`) {
		t.Fatalf("the devices page with cookie storage:\n%s", b)
	}
}
