package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
)

// testClock is an injectable clock, advanced by tests.
type testClock struct{ now atomic.Int64 }

func newTestClock() *testClock { c := &testClock{}; c.now.Store(1700000000); return c }

func (c *testClock) Now() time.Time          { return time.Unix(c.now.Load(), 0) }
func (c *testClock) Advance(d time.Duration) { c.now.Add(int64(d / time.Second)) }

// harness is a Manager on a fake clock plus a browser-like cookie jar.
type harness struct {
	t     testing.TB
	m     *Manager
	clock *testClock
	jar   map[string]string
	order []string
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	clock := newTestClock()
	if cfg.Secret == "" && cfg.IKM == nil {
		cfg.Secret = "test-secret"
	}
	cfg.Clock = clock.Now
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &harness{t: t, m: m, clock: clock, jar: map[string]string{}}
}

// request returns a session for a request carrying the jar's cookies, and
// the recorder that collects its Set-Cookie lines; apply them with commit.
func (h *harness) request() (*Session, *recorder) {
	r := newRecorder(h.cookieHeader())
	r.remoteAddr, r.scheme, r.userAgent = "192.0.2.1", "https", "test-agent"
	return h.m.NewSession(r), r
}

func (h *harness) cookieHeader() string {
	var parts []string
	for _, name := range h.order {
		if v, ok := h.jar[name]; ok {
			parts = append(parts, name+"="+v)
		}
	}
	return strings.Join(parts, "; ")
}

// commit applies Set-Cookie lines to the jar as a browser would.
func (h *harness) commit(r *recorder) {
	for _, line := range r.setCookies {
		name, value, attrs := splitSetCookie(line)
		if strings.Contains(attrs, "Max-Age=0") {
			delete(h.jar, name)
			continue
		}
		if _, ok := h.jar[name]; !ok {
			h.order = append(h.order, name)
		}
		h.jar[name] = value
	}
}

// login saves a new session with data and subject.
func (h *harness) login(data map[string]any, subject string) {
	h.t.Helper()
	s, r := h.request()
	s.SetData(data)
	s.SetSubject(subject)
	if err := s.Save(); err != nil {
		h.t.Fatalf("Save: %v", err)
	}
	h.commit(r)
}

func (h *harness) open() (*Session, error) {
	s, r := h.request()
	err := s.Open()
	h.commit(r)
	return s, err
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"short ikm", Config{IKM: make([]byte, 31)}},
		{"long ikm", Config{IKM: make([]byte, 33)}},
		{"short ikm fallback", Config{Secret: "s", IKMFallbacks: [][]byte{make([]byte, 16)}}},
		{"SameParty with Strict", Config{Secret: "s", CookieSameParty: true, CookieSameSite: "Strict"}},
		{"unknown bind", Config{Secret: "s", Bind: []Binding{"ip", "cookie"}}},
		{"unknown request header", Config{Secret: "s", RequestHeaders: []Property{"id", "password"}}},
		{"unknown response header", Config{Secret: "s", ResponseHeaders: []Property{"nonce"}}},
		{"unknown remember safety", Config{Secret: "s", RememberSafety: "Extreme"}},
		{"unknown prefix", Config{Secret: "s", CookiePrefix: "__Foo-"}},
		{"unknown same site", Config{Secret: "s", CookieSameSite: "lax"}},
		{"unknown priority", Config{Secret: "s", CookiePriority: "Urgent"}},
		{"cookie name with a blank", Config{Secret: "s", CookieName: "my session"}},
		{"cookie name with =", Config{Secret: "s", CookieName: "a=b"}},
		{"same names", Config{Secret: "s", CookieName: "x", RememberCookieName: "x"}},
		{"path with ;", Config{Secret: "s", CookiePath: "/; Domain=evil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New(%+v) = %v, want ErrInvalidConfig", tt.cfg, err)
			}
		})
	}
}

func TestZeroConfigMeansDefaults(t *testing.T) {
	zero, err := New(Config{Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig()
	def.Secret = "s"
	spelled, err := New(def)
	if err != nil {
		t.Fatal(err)
	}
	zero.keys, spelled.keys = nil, nil
	zero.logger, spelled.logger = nil, nil
	zero.clock, spelled.clock = nil, nil
	if !reflect.DeepEqual(zero, spelled) {
		t.Fatalf("Config{} and DefaultConfig() differ:\n%+v\n%+v", zero, spelled)
	}
	if zero.idling != 900 || zero.rolling != 3600 || zero.absolute != 86400 ||
		zero.rememberRolling != 604800 || zero.rememberAbsolute != 2592000 ||
		zero.staleTTL != 10 || zero.touchThreshold != 60 || zero.compressionThreshold != 1024 {
		t.Fatalf("defaults are not the reference's: %+v", zero)
	}
	if zero.attrs != "; Path=/; SameSite=Lax; Secure; HttpOnly" {
		t.Fatalf("default attributes = %q", zero.attrs)
	}
}

func TestDisabledTimeouts(t *testing.T) {
	h := newHarness(t, Config{IdlingTimeout: Disabled, RollingTimeout: Disabled, AbsoluteTimeout: Disabled})
	h.login(map[string]any{"k": "v"}, "")
	h.clock.Advance(1000 * 24 * time.Hour)
	s, err := h.open()
	if err != nil {
		t.Fatalf("open after 1000 days with timeouts off: %v", err)
	}
	if _, ok := s.Timeout(); ok {
		t.Fatal("Timeout reported with every timeout off")
	}
	if err := s.Refresh(); err != nil {
		t.Fatal(err)
	}
}

func TestRandomKeyWarns(t *testing.T) {
	var logged strings.Builder
	m, err := New(Config{Logger: newTextLogger(&logged)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "random key") {
		t.Fatalf("no warning logged for a missing secret: %q", logged.String())
	}
	m2, _ := New(Config{Logger: newTextLogger(&logged)})
	if reflect.DeepEqual(m.keys[0].ikm, m2.keys[0].ikm) {
		t.Fatal("two managers without a secret share a key")
	}
}

func TestClosedSession(t *testing.T) {
	h := newHarness(t, Config{})
	h.login(map[string]any{"k": "v"}, "u")
	s, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ops := map[string]func() error{
		"Open":               s.Open,
		"Save":               s.Save,
		"Touch":              s.Touch,
		"Refresh":            s.Refresh,
		"Logout":             s.Logout,
		"Destroy":            s.Destroy,
		"ClearRequestCookie": s.ClearRequestCookie,
		"SetHeaders":         func() error { return s.SetHeaders() },
		"SetRequestHeaders":  func() error { return s.SetRequestHeaders() },
		"SetResponseHeaders": func() error { return s.SetResponseHeaders() },
		"Info.Save":          s.Info().Save,
		"Start":              s.Start,
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s on a closed session = %v, want ErrClosed", name, err)
		}
	}
	s.Set("k", "changed")
	s.SetData(map[string]any{"x": 1})
	s.SetSubject("other")
	s.SetAudience("other")
	s.SetRemember(true)
	s.Info().Set("i", 1)
	if s.Get("k") != nil || s.Data() != nil || s.Subject() != "" || s.Audience() != "" || s.Remember() || s.Info().Get("i") != nil {
		t.Fatal("a closed session still reads or writes data")
	}
	if _, ok := s.Property("id"); ok {
		t.Fatal("a closed session reports properties")
	}
}

func TestNonexistentSession(t *testing.T) {
	h := newHarness(t, Config{})
	s, _ := h.request()
	ops := map[string]func() error{
		"Touch":              s.Touch,
		"Refresh":            s.Refresh,
		"Logout":             s.Logout,
		"Destroy":            s.Destroy,
		"ClearRequestCookie": s.ClearRequestCookie,
		"SetHeaders":         func() error { return s.SetHeaders() },
		"Info.Save":          s.Info().Save,
	}
	for name, op := range ops {
		err := op()
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nonexistent session") {
			t.Errorf("%s on a new session = %v, want ErrNotFound (nonexistent session)", name, err)
		}
	}
}

func TestDataAccessors(t *testing.T) {
	h := newHarness(t, Config{})
	s, r := h.request()
	s.Set("user", "alice")
	s.Set("@user", "escaped") // cookie storage keeps "@" keys apart from info
	s.Info().Set("user", "info value")
	s.Set("gone", 1)
	s.Set("gone", nil)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	h.commit(r)
	s, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"user": "alice", "$@user": "escaped", "@user": "info value"}
	if !reflect.DeepEqual(s.Data(), want) {
		t.Fatalf("data = %v, want %v", s.Data(), want)
	}
	if s.Get("@user") != "escaped" || s.Info().Get("user") != "info value" || s.Get("user") != "alice" {
		t.Fatalf("Get/Info().Get read the wrong keys: %v", s.Data())
	}
	s.SetData(nil)
	if len(s.Data()) != 0 {
		t.Fatal("SetData(nil) did not empty the data")
	}
}

func TestSetAudience(t *testing.T) {
	h := newHarness(t, Config{Audience: "a1"})
	h.login(map[string]any{"n": 1}, "ivy")
	for _, aud := range []string{"a2", "a3"} { // add a2 and a3 to the same cookie
		r := newRecorder(h.cookieHeader())
		s := mustNew(t, Config{Secret: "test-secret", Audience: aud, Clock: h.clock.Now}).NewSession(r)
		if err := s.Open(); !errors.Is(err, ErrNotFound) {
			t.Fatalf("open as %s: %v, want a missing audience", aud, err)
		}
		s.Set("n", aud)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		h.commit(r)
	}
	s, err := h.open()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Audiences(); !reflect.DeepEqual(got, []string{"a1", "a2", "a3"}) {
		t.Fatalf("audiences = %v", got)
	}
	// Renaming a1 to a3 replaces the old a3 entry; a1's data stays current.
	s.SetAudience("a3")
	if got := s.Audiences(); !reflect.DeepEqual(got, []string{"a3", "a2"}) {
		t.Fatalf("after rename, audiences = %v", got)
	}
	if s.Audience() != "a3" || s.Get("n") != float64(1) {
		t.Fatalf("current entry = %s %v, want a3 with a1's data", s.Audience(), s.Get("n"))
	}
	// Renaming a later entry onto an earlier one moves the current index.
	s.cur = 1 // a2
	s.SetAudience("a3")
	if got := s.Audiences(); !reflect.DeepEqual(got, []string{"a3"}) || s.Get("n") != "a2" {
		t.Fatalf("after second rename, audiences = %v, data %v", got, s.Data())
	}
}

// newHTTP returns a new session for a net/http request.
func newHTTP(m *Manager, w http.ResponseWriter, r *http.Request) *Session {
	return m.NewSession(adapter.NewHTTP(w, r))
}

// openHTTP opens the session of a net/http request and returns
// Session.Open's error, which says why a request has no usable session
// where Manager.Open returns nil.
func openHTTP(m *Manager, w http.ResponseWriter, r *http.Request) (*Session, error) {
	s := newHTTP(m, w, r)
	return s, s.Open()
}

func mustNew(t testing.TB, cfg Config) *Manager {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEnforceSameSubject(t *testing.T) {
	clock := newTestClock()
	jar := newHarness(t, Config{})
	save := func(aud, subject string, enforce bool) {
		m := mustNew(t, Config{Secret: "s", Audience: aud, EnforceSameSubject: enforce, Clock: clock.Now})
		r := newRecorder(jar.cookieHeader())
		s := m.NewSession(r)
		s.Open() //nolint:errcheck // a missing audience is expected
		s.SetSubject(subject)
		s.Set("aud", aud)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		jar.commit(r)
	}
	save("a", "alice", false)
	save("b", "bob", false)
	save("c", "alice", false)
	// b is current and differs from a and c: they go, b stays current.
	save("b", "bob", true)
	m := mustNew(t, Config{Secret: "s", Audience: "b", Clock: clock.Now})
	s := m.NewSession(newRecorder(jar.cookieHeader()))
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if got := s.Audiences(); !reflect.DeepEqual(got, []string{"b"}) {
		t.Fatalf("audiences after enforcing bob = %v, want [b]", got)
	}
	if s.Subject() != "bob" || s.Get("aud") != "b" {
		t.Fatalf("current entry = %s/%v", s.Subject(), s.Get("aud"))
	}
}

func TestPropertiesAndHeaders(t *testing.T) {
	h := newHarness(t, Config{
		Audience:        "app",
		RequestHeaders:  []Property{"id", "subject"},
		ResponseHeaders: []Property{"timeout", "audience"},
		IdlingTimeout:   Disabled,
	})
	h.login(map[string]any{}, "wes")
	h.clock.Advance(100 * time.Second)
	s, r := h.request()
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHeaders(); err != nil {
		t.Fatal(err)
	}
	wantReq := map[string]string{"session-id": s.ID(), "session-subject": "wes"}
	if !reflect.DeepEqual(r.requestHeaders, wantReq) {
		t.Errorf("request headers = %v, want %v", r.requestHeaders, wantReq)
	}
	wantResp := map[string]string{"Session-Timeout": "3500", "Session-Audience": "app"}
	if !reflect.DeepEqual(r.responseHeaders, wantResp) {
		t.Errorf("response headers = %v, want %v", r.responseHeaders, wantResp)
	}
	r.requestHeaders, r.responseHeaders = map[string]string{}, map[string]string{}
	if err := s.SetRequestHeaders("absolute-timeout", "idling-timeout", "bogus"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetResponseHeaders("rolling-timeout"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.requestHeaders, map[string]string{"session-absolute-timeout": "86300"}) {
		t.Errorf("request headers = %v (idling is off, bogus unknown)", r.requestHeaders)
	}
	if !reflect.DeepEqual(r.responseHeaders, map[string]string{"Session-Rolling-Timeout": "3500"}) {
		t.Errorf("response headers = %v", r.responseHeaders)
	}
	if len(s.ID()) != 43 || len(s.nonce()) != 32 || b64.EncodeToString(s.nonce()) != s.ID() {
		t.Errorf("id %q and nonce %x disagree", s.ID(), s.nonce())
	}
	if !s.CreatedAt().Equal(time.Unix(1700000000, 0)) {
		t.Errorf("CreatedAt = %v", s.CreatedAt())
	}
	if _, ok := s.Property("nonsense"); ok {
		t.Error("unknown property reported")
	}
}

func TestRememberRestoresSession(t *testing.T) {
	h := newHarness(t, Config{Remember: true, RememberSafety: "Low"})
	h.login(map[string]any{"k": "v"}, "erin")
	if _, ok := h.jar["remember"]; !ok {
		t.Fatal("no remember cookie issued")
	}
	delete(h.jar, "session") // the browser closed
	h.clock.Advance(2 * 24 * time.Hour)
	s, err := h.open()
	if err != nil {
		t.Fatalf("restore from remember cookie: %v", err)
	}
	if s.Subject() != "erin" || s.Get("k") != "v" {
		t.Fatalf("restored session lost its data: %s %v", s.Subject(), s.Data())
	}
	if _, ok := h.jar["session"]; !ok {
		t.Fatal("no new session cookie after restore")
	}
	// the remember cookie keeps its creation time: the absolute timeout holds
	h.clock.Advance(29 * 24 * time.Hour)
	delete(h.jar, "session")
	if _, err := h.open(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore after remember absolute timeout = %v, want the session cookie's ErrNotFound", err)
	}
}

func TestLogoutOfOneAudience(t *testing.T) {
	clock := newTestClock()
	jar := newHarness(t, Config{})
	manager := func(aud string) *Manager {
		return mustNew(t, Config{Secret: "s", Audience: aud, Clock: clock.Now})
	}
	for _, aud := range []string{"a1", "a2"} {
		r := newRecorder(jar.cookieHeader())
		s := manager(aud).NewSession(r)
		s.Open() //nolint:errcheck
		s.Set("who", aud)
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		jar.commit(r)
	}
	r := newRecorder(jar.cookieHeader())
	s := manager("a1").NewSession(r)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(); err != nil {
		t.Fatal(err)
	}
	if !s.Closed() {
		t.Fatal("session not closed after logout")
	}
	jar.commit(r)
	if err := manager("a1").NewSession(newRecorder(jar.cookieHeader())).Open(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a1 after its logout = %v, want ErrNotFound", err)
	}
	s2 := manager("a2").NewSession(newRecorder(jar.cookieHeader()))
	if err := s2.Open(); err != nil || s2.Get("who") != "a2" {
		t.Fatalf("a2 after a1's logout: %v %v", err, s2.Data())
	}
}

func TestNetHTTPHelpers(t *testing.T) {
	m := mustNew(t, Config{Secret: "s", Bind: []Binding{"ip"}})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "198.51.100.7:4711"
	s, err := m.Open(rec, req)
	if err != nil || s.Exists() {
		t.Fatalf("Open without a cookie: exists %v, %v; want a new session and no error", s.Exists(), err)
	}
	s.Set("k", "v")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "session" {
		t.Fatalf("cookies = %v", cookies)
	}
	request := func(addr string) (*httptest.ResponseRecorder, *http.Request) {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = addr
		req.AddCookie(cookies[0])
		return httptest.NewRecorder(), req
	}
	if s, err := m.Open(request("198.51.100.7:1")); !s.Exists() || err != nil || s.Get("k") != "v" {
		t.Fatalf("Open from the bound IP: %v %v", s.Exists(), err)
	}
	if s, err := m.Open(request("203.0.113.9:1")); s.Exists() || err != nil || s.Get("k") != nil {
		t.Fatalf("Open from another IP: %v %v, want a new session and no error", s.Exists(), err)
	}
	if s, err := m.Start(request("198.51.100.7:2")); !s.Exists() || err != nil {
		t.Fatalf("Start: %v %v", s.Exists(), err)
	}
	w, r := request("198.51.100.7:3")
	if err := m.Destroy(w, r); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if got := w.Header().Get("Set-Cookie"); !strings.Contains(got, "Max-Age=0") {
		t.Fatalf("Destroy sent %q", got)
	}
	w, r = request("198.51.100.7:4")
	if err := m.Logout(w, r); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if got := w.Header().Get("Set-Cookie"); !strings.Contains(got, "Max-Age=0") {
		t.Fatalf("Logout of the only audience sent %q", got)
	}
}

func TestCookieValue(t *testing.T) {
	tests := []struct {
		header, name, want string
		ok                 bool
	}{
		{"session=abc", "session", "abc", true},
		{"a=1; session=abc; b=2", "session", "abc", true},
		{"SESSION=abc", "session", "abc", true},
		{"a=1, session =  abc ; b=2", "session", "abc", true},
		{"sessionx=1; session=2", "session", "2", true},
		{"session=1; session=2", "session", "1", true},
		{"flag; b=2", "flag", "", false},
		{"", "session", "", false},
		{"session", "session", "", false},
		{"session=", "session", "", true},
	}
	for _, tt := range tests {
		jar := readCookies(tt.header, [2]string{tt.name, "other"})
		got, ok := jar.get(0, 1)
		if got != tt.want || ok != tt.ok {
			t.Errorf("readCookies(%q, %q) = %q, %v; want %q, %v", tt.header, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStripCookies(t *testing.T) {
	tests := []struct {
		header string
		chunks int
		want   string
	}{
		{"session=x", 1, ""},
		{"a=1; session=x; b=2", 1, "a=1; b=2"},
		{"a=1; session=x; flag; session2=y; b=2", 2, "a=1; flag;b=2"},
		{"a=1; session2=y; b=2", 1, "a=1; session2=y; b=2"}, // one chunk: session2 is not ours
		{"a=1; session3=y", 2, "a=1; session3=y"},
		{"sessions=1; session=2", 1, "sessions=1; "},
		{"a=1", 1, "a=1"},
		{" a = 1 ;session=2", 1, "a=1; "},
	}
	for _, tt := range tests {
		if got := stripCookies(tt.header, "session", tt.chunks); got != tt.want {
			t.Errorf("stripCookies(%q, %d) = %q, want %q", tt.header, tt.chunks, got, tt.want)
		}
	}
}

func TestChunkCount(t *testing.T) {
	tests := []struct{ name, size, want int }{
		{7, 3978, 1}, {7, 3979, 2}, {7, 4096*2 - 7 - 1 - 110 - 9, 2}, {7, 4096*2 - 7 - 1 - 110 - 8, 3},
		{3, 100, 1}, {7, 36864, 0},
	}
	for _, tt := range tests {
		got, err := chunkCount(tt.name, tt.size)
		if got != tt.want || (tt.want == 0) != errors.Is(err, ErrTooLarge) {
			t.Errorf("chunkCount(%d, %d) = %d, %v; want %d", tt.name, tt.size, got, err, tt.want)
		}
	}
}

func TestTooLarge(t *testing.T) {
	h := newHarness(t, Config{CompressionThreshold: -1})
	s, _ := h.request()
	s.Set("blob", strings.Repeat("x", 40000))
	if err := s.Save(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Save of 40 kB in cookies = %v, want ErrTooLarge", err)
	}
}

func TestCompression(t *testing.T) {
	for _, tt := range []struct {
		threshold int
		deflate   bool
	}{{0, true}, {-1, false}, {100000, false}} {
		t.Run(fmt.Sprint(tt.threshold), func(t *testing.T) {
			h := newHarness(t, Config{CompressionThreshold: tt.threshold})
			h.login(map[string]any{"text": strings.Repeat("compressible ", 200)}, "")
			s, err := h.open()
			if err != nil {
				t.Fatal(err)
			}
			if got := s.meta.flags&flagDeflate != 0; got != tt.deflate {
				t.Fatalf("deflate flag = %v, want %v", got, tt.deflate)
			}
			if s.Get("text") != strings.Repeat("compressible ", 200) {
				t.Fatal("data changed in a compression round trip")
			}
		})
	}
}

func TestStoreErrorsSurface(t *testing.T) {
	broken := brokenStore{err: errors.New("connection refused")}
	h := newHarness(t, Config{Store: broken})
	s, _ := h.request()
	s.Set("k", "v")
	if err := s.Save(); !errors.Is(err, ErrStore) || !errors.Is(err, broken.err) {
		t.Fatalf("Save with a broken store = %v, want ErrStore wrapping the cause", err)
	}
}

type brokenStore struct{ err error }

func (b brokenStore) Get(context.Context, string, string, store.GetOptions) ([]byte, error) {
	return nil, b.err
}
func (b brokenStore) Set(context.Context, string, string, []byte, store.SetOptions) error {
	return b.err
}
func (b brokenStore) Delete(context.Context, string, string, store.DeleteOptions) error { return b.err }

// TestNewSessionDataMap: a new session makes its data map when something
// asks for it or writes to it; every way in works, on a session that was
// never opened and on one whose cookie lacked the audience, and what was
// written is saved.
func TestNewSessionDataMap(t *testing.T) {
	t.Parallel()
	writes := []struct {
		name  string
		write func(s *Session)
		check func(s *Session) bool
	}{
		{"Data", func(s *Session) { s.Data()["k"] = "v" }, func(s *Session) bool { return s.Get("k") == "v" }},
		{"Set", func(s *Session) { s.Set("k", "v") }, func(s *Session) bool { return s.Get("k") == "v" }},
		{"Set nil", func(s *Session) { s.Set("k", nil); s.Set("j", "w") }, func(s *Session) bool { return s.Get("j") == "w" }},
		{"Flash", func(s *Session) { s.Flash("n", "hi") }, func(s *Session) bool { return len(s.Flashes("n")) == 1 }},
		{"Flashes", func(s *Session) { s.Flashes("n"); s.Set("j", "w") }, func(s *Session) bool { return s.Get("j") == "w" }},
		{"Info", func(s *Session) { s.Info().Set("k", "v") }, func(s *Session) bool { return s.Info().Get("k") == "v" }},
	}
	const secret = "a secret for the data map test"
	other := mustNew(t, Config{Secret: secret, Audience: "other"})
	r := newRecorder("")
	o := other.NewSession(r)
	o.Set("x", 1.0)
	if err := o.Save(); err != nil {
		t.Fatal(err)
	}
	otherCookie := cookieHeader(r)
	m := mustNew(t, Config{Secret: secret})
	for _, from := range []string{"new", "audience missing"} {
		for _, w := range writes {
			t.Run(from+"/"+w.name, func(t *testing.T) {
				cookie := ""
				if from != "new" {
					cookie = otherCookie
				}
				r := newRecorder(cookie)
				s := m.NewSession(r)
				if s.Get("k") != nil || len(s.Data()) != 0 {
					t.Fatal("a new session has data")
				}
				s = m.NewSession(r)
				if err := s.Open(); from != "new" && !errors.Is(err, ErrNotFound) {
					t.Fatalf("Open: %v", err)
				}
				w.write(s)
				if err := s.Save(); err != nil {
					t.Fatal(err)
				}
				s = m.NewSession(newRecorder(cookieHeader(r)))
				if err := s.Open(); err != nil || !w.check(s) {
					t.Fatalf("after the save: %v, data %v", err, s.Data())
				}
				if from != "new" && len(s.Audiences()) != 2 {
					t.Fatalf("audiences %v, want both", s.Audiences())
				}
			})
		}
	}
}
