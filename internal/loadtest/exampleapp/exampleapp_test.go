package exampleapp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseRSS(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status string
		want   uint64
		ok     bool
	}{
		{"Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t   12345 kB\nThreads: 3\n", 12345 << 10, true},
		{"VmRSS: 1 kB", 1 << 10, true},
		{"Name:\tx\n", 0, false},
		{"VmRSS:\t12 MB\n", 0, false},
		{"VmRSS:\tmany kB\n", 0, false},
	} {
		got, err := parseRSS(tt.status)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseRSS(%q) = %d, %v; want %d, ok %v", tt.status, got, err, tt.want, tt.ok)
		}
	}
}

func TestFindRoot(t *testing.T) {
	t.Parallel()
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "examples", "nethttp", "main.go")); err != nil {
		t.Errorf("FindRoot = %s, which has no examples/nethttp: %v", root, err)
	}
	if _, err := FindRoot(t.TempDir()); !errors.Is(err, ErrNoWorkspace) {
		t.Errorf("FindRoot of a directory outside the repository: %v, want ErrNoWorkspace", err)
	}
}

// buildDir holds the app that build builds, once for the tests of this
// package; TestMain removes it.
var buildDir string

var build = sync.OnceValues(func() (string, error) {
	root, err := FindRoot(".")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return Build(ctx, root, buildDir)
})

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exampleapp-test-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestApp builds the example with the harness's file and serves it on the
// memory store in both modes: the example's routes work as the harness
// expects (303 with the session cookie for a save, the page's fields), and
// so do the file's own (/grow's bounds, /debug/loadapp). In server mode the
// example's logout fails, which is why the harness's users close the
// browser there instead.
func TestApp(t *testing.T) {
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"cookie", "server"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			app, err := Start(t.Context(), bin, Config{Store: "memory", Mode: mode, Prefix: "test"})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := app.Stop(); err != nil {
					t.Errorf("stop: %v", err)
				}
			}()
			base := "http://" + app.Addr
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			post := func(path string, form url.Values, want int) {
				t.Helper()
				resp, err := c.PostForm(base+path, form)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("POST %s: %d, want %d", path, resp.StatusCode, want)
				}
			}
			page := func() string {
				t.Helper()
				resp, err := c.Get(base + "/")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			post("/login", url.Values{"user": {"alice"}}, http.StatusSeeOther)
			post("/visit", nil, http.StatusSeeOther)
			post("/visit", nil, http.StatusSeeOther)
			if body := page(); !strings.Contains(body, `id="user">alice<`) || !strings.Contains(body, `id="visits">2<`) {
				t.Fatalf("the page after two visits:\n%s", body)
			}
			post("/grow", url.Values{"bytes": {"0"}}, http.StatusBadRequest)
			post("/grow", url.Values{"bytes": {"65537"}}, http.StatusBadRequest)
			post("/grow", url.Values{"bytes": {"x"}}, http.StatusBadRequest)
			post("/grow", url.Values{"bytes": {"100"}}, http.StatusSeeOther)
			m, err := app.Mem(t.Context(), http.DefaultClient, base)
			if err != nil {
				t.Fatal(err)
			}
			if m.RSS < 1<<20 || m.HeapInuse == 0 || m.Goroutines == 0 {
				t.Errorf("memory figures %+v", m)
			}
			post("/logout", nil, http.StatusSeeOther)
			if body := page(); strings.Contains(body, `id="user"`) {
				t.Fatalf("signed in after the logout:\n%s", body)
			}
		})
	}
}

// TestStartFails checks that an app that cannot serve is an error, not a
// hang.
func TestStartFails(t *testing.T) {
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{
		{Store: "nosuchstore", Mode: "cookie"},
		{Store: "memory", Mode: "nosuchmode"},
		{Store: "redis", Target: "127.0.0.1:1", Mode: "cookie", Addr: "256.0.0.1:1"},
	} {
		if app, err := Start(t.Context(), bin, cfg); err == nil {
			app.Stop()
			t.Errorf("Start(%+v) served", cfg)
		}
	}
}
