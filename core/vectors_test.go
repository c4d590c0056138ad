package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/session/core/adapter"
)

// The reference vectors (testdata/lua-resty-session-4.1.5.json) were
// recorded from lua-resty-session 4.1.5. They are the judge of
// compatibility: every cookie the reference made must open here with the
// same result, and every cookie made here must equal the reference's byte
// for byte where the plaintext bytes coincide.

type vectorFile struct {
	Vectors []vector `json:"vectors"`
}

type vector struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Config      map[string]any `json:"config"`
	Steps       []vectorStep   `json:"steps"`
}

type vectorStep struct {
	Cmd        string         `json:"cmd"`
	Note       string         `json:"note"`
	Config     map[string]any `json:"config"`
	Data       map[string]any `json:"data"`
	Subject    *string        `json:"subject"`
	Remember   *bool          `json:"remember"`
	OpenFirst  bool           `json:"open_first"`
	SetHeaders []string       `json:"set_headers"`
	Request    struct {
		Time         int64  `json:"time"`
		RemoteAddr   string `json:"remote_addr"`
		Scheme       string `json:"scheme"`
		UserAgent    string `json:"user_agent"`
		CookieHeader string `json:"cookie_header"`
	} `json:"request"`
	Result vectorResult `json:"result"`
}

type vectorResult struct {
	OK              *bool             `json:"ok"`
	Exists          *bool             `json:"exists"`
	Err             string            `json:"err"`
	OpenErr         string            `json:"open_err"`
	OpenExists      *bool             `json:"open_exists"`
	Refreshed       *bool             `json:"refreshed"`
	State           string            `json:"state"`
	Remember        *bool             `json:"remember"`
	SetCookie       []string          `json:"set_cookie"`
	Data            map[string]any    `json:"data"`
	Audience        *string           `json:"audience"`
	Subject         *string           `json:"subject"`
	Entries         []map[string]any  `json:"entries"`
	Properties      map[string]any    `json:"properties"`
	RequestHeaders  map[string]string `json:"request_headers"`
	ResponseHeaders map[string]string `json:"response_headers"`
	SIDs            []string          `json:"sids_generated_hex"`
	Decoded         map[string]struct {
		Plaintext string `json:"plaintext"`
	} `json:"decoded"`
}

// vectorsPath finds the vectors file: $SESSIONGO_VECTORS, or the copy in
// testdata.
func vectorsPath() string {
	if p := os.Getenv("SESSIONGO_VECTORS"); p != "" {
		return p
	}
	return filepath.Join("testdata", "lua-resty-session-4.1.5.json")
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile(vectorsPath())
	if err != nil {
		t.Fatalf("reference vectors (testdata/, part of the repository): %v", err)
	}
	var f vectorFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors in file")
	}
	return f.Vectors
}

// vectorConfig maps the reference's option names onto Config.
func vectorConfig(t testing.TB, in map[string]any) Config {
	t.Helper()
	var c Config
	secs := func(v any) time.Duration {
		n := int64(v.(float64))
		if n == 0 {
			return Disabled
		}
		return time.Duration(n) * time.Second
	}
	strs := func(v any) []string {
		var out []string
		for _, s := range v.([]any) {
			out = append(out, s.(string))
		}
		return out
	}
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for k, v := range in {
		switch k {
		case "secret":
			c.Secret = v.(string)
		case "secret_fallbacks":
			c.SecretFallbacks = strs(v)
		case "ikm_hex":
			c.IKM = unhex(v.(string))
		case "ikm_fallbacks_hex":
			for _, s := range strs(v) {
				c.IKMFallbacks = append(c.IKMFallbacks, unhex(s))
			}
		case "remember":
			c.Remember = v.(bool)
		case "remember_safety":
			c.RememberSafety = RememberSafety(v.(string))
		case "remember_cookie_name":
			c.RememberCookieName = v.(string)
		case "remember_rolling_timeout":
			c.RememberRollingTimeout = secs(v)
		case "bind":
			c.Bind = convertList[Binding](strs(v))
		case "compression_threshold":
			c.CompressionThreshold = int(v.(float64))
			if c.CompressionThreshold == 0 {
				c.CompressionThreshold = -1
			}
		case "cookie_name":
			c.CookieName = v.(string)
		case "cookie_path":
			c.CookiePath = v.(string)
		case "cookie_domain":
			c.CookieDomain = v.(string)
		case "cookie_prefix":
			c.CookiePrefix = Prefix(v.(string))
		case "cookie_http_only":
			c.DisableHTTPOnly = !v.(bool)
		case "cookie_secure":
			c.DisableSecure = !v.(bool)
		case "cookie_priority":
			c.CookiePriority = Priority(v.(string))
		case "cookie_same_site":
			c.CookieSameSite = SameSite(v.(string))
		case "cookie_same_party":
			c.CookieSameParty = v.(bool)
		case "cookie_partitioned":
			c.CookiePartitioned = v.(bool)
		case "audience":
			c.Audience = v.(string)
		case "idling_timeout":
			c.IdlingTimeout = secs(v)
		case "rolling_timeout":
			c.RollingTimeout = secs(v)
		case "absolute_timeout":
			c.AbsoluteTimeout = secs(v)
		default:
			t.Fatalf("vector config option %q is not mapped", k)
		}
	}
	// The reference's cookies are not Secure unless it is asked for; ours
	// are, unless disabled.
	if _, ok := in["cookie_secure"]; !ok {
		c.DisableSecure = true
	}
	return c
}

// pinnedRand yields the vector's pinned session ids, SHA-256("luaref:<name>:<n>").
type pinnedRand struct {
	name string
	n    int
	got  []string
}

func (r *pinnedRand) Read(p []byte) (int, error) {
	if len(p) != sidSize {
		return 0, fmt.Errorf("pinnedRand: read of %d bytes", len(p))
	}
	r.n++
	sum := sha256.Sum256([]byte(fmt.Sprintf("luaref:%s:%d", r.name, r.n)))
	r.got = append(r.got, hex.EncodeToString(sum[:]))
	return copy(p, sum[:]), nil
}

// recorder is an Exchange over plain values, recording what the session
// library writes.
type recorder struct {
	cookie, userAgent, remoteAddr, scheme string

	setCookies      []string
	requestHeaders  map[string]string
	responseHeaders map[string]string
}

func newRecorder(cookie string) *recorder {
	return &recorder{cookie: cookie, requestHeaders: map[string]string{}, responseHeaders: map[string]string{}}
}

func (r *recorder) Context() context.Context { return context.Background() }
func (r *recorder) Cookies() string          { return r.cookie }
func (r *recorder) UserAgent() string        { return r.userAgent }
func (r *recorder) RemoteAddr() string       { return r.remoteAddr }
func (r *recorder) Scheme() string           { return r.scheme }
func (r *recorder) SetCookie(name, line string) {
	r.setCookies = adapter.ReplaceSetCookie(r.setCookies, name, line)
}
func (r *recorder) SetRequestHeader(name, value string) {
	r.requestHeaders[strings.ToLower(name)] = value
	if strings.EqualFold(name, "Cookie") {
		r.cookie = value
	}
}
func (r *recorder) DelRequestHeader(name string) {
	delete(r.requestHeaders, strings.ToLower(name))
	if strings.EqualFold(name, "Cookie") {
		r.cookie = ""
	}
}
func (r *recorder) SetResponseHeader(name, value string) { r.responseHeaders[name] = value }

// inexact lists the vectors whose plaintext bytes legitimately differ from
// Go's (cjson's number and "\/" formatting). Deflated ones are exact: the
// library deflates as zlib does (zdeflate).
var inexact = map[string]bool{"mixed_types": true}

// strictBase64 lists the steps where this library deliberately differs from
// the reference: it decodes base64url strictly.
var strictBase64 = map[string]bool{"tamper/5": true}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			rnd := &pinnedRand{name: v.Name}
			for i, step := range v.Steps {
				t.Run(fmt.Sprintf("%d_%s", i, step.Cmd), func(t *testing.T) {
					runVectorStep(t, v, i, step, rnd)
				})
			}
		})
	}
}

func runVectorStep(t *testing.T, v vector, i int, step vectorStep, rnd *pinnedRand) {
	cfgMap := v.Config
	if step.Config != nil {
		cfgMap = step.Config
	}
	cfg := vectorConfig(t, cfgMap)
	now := step.Request.Time
	cfg.Clock = func() time.Time { return time.Unix(now, 0) }
	cfg.Rand = rnd
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ex := newRecorder(step.Request.CookieHeader)
	ex.userAgent, ex.remoteAddr, ex.scheme = step.Request.UserAgent, step.Request.RemoteAddr, step.Request.Scheme
	if strictBase64[fmt.Sprintf("%s/%d", v.Name, i)] {
		s := m.NewSession(ex)
		if err := s.Open(); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: want ErrInvalid from strict base64url decoding, got %v", step.Note, err)
		}
		return
	}
	sidsBefore := len(rnd.got)
	want := step.Result
	s := m.NewSession(ex)
	var opErr error
	switch step.Cmd {
	case "make":
		if step.OpenFirst {
			openErr := s.Open()
			checkErr(t, "open_first", openErr, want.OpenErr)
		}
		if step.Data != nil {
			s.SetData(step.Data)
		}
		if step.Subject != nil {
			s.SetSubject(*step.Subject)
		}
		if step.Remember != nil {
			s.SetRemember(*step.Remember)
		}
		opErr = s.Save()
	case "open":
		opErr = s.Open()
		if step.SetHeaders != nil && opErr == nil {
			if err := s.SetHeaders(convertList[Property](step.SetHeaders)...); err != nil {
				t.Fatal(err)
			}
		}
	case "start":
		opErr = s.Start()
		exists, refreshed := s.Exists(), s.Exists() && opErr == nil
		if want.Exists != nil && exists != *want.Exists {
			t.Errorf("start exists = %v, want %v", exists, *want.Exists)
		}
		if want.Refreshed != nil && refreshed != *want.Refreshed {
			t.Errorf("start refreshed = %v, want %v", refreshed, *want.Refreshed)
		}
	case "refresh", "touch", "logout", "destroy", "clear":
		if err := s.Open(); err != nil {
			if want.Exists == nil || *want.Exists {
				t.Fatalf("open before %s: %v", step.Cmd, err)
			}
		}
		switch step.Cmd {
		case "refresh":
			opErr = s.Refresh()
		case "touch":
			opErr = s.Touch()
		case "logout":
			opErr = s.Logout()
		case "destroy":
			opErr = s.Destroy()
		case "clear":
			opErr = s.ClearRequestCookie()
		}
	default:
		t.Fatalf("unknown command %q", step.Cmd)
	}
	checkErr(t, step.Cmd, opErr, want.Err)
	if want.Exists != nil && step.Cmd == "open" && s.Exists() != *want.Exists {
		t.Errorf("exists = %v, want %v", s.Exists(), *want.Exists)
	}
	if want.OK != nil && (opErr == nil) != *want.OK {
		t.Errorf("ok = %v, want %v (err %v)", opErr == nil, *want.OK, opErr)
	}
	if want.State != "" {
		got := map[state]string{stateNew: "new", stateOpen: "open", stateClosed: "closed"}[s.state]
		if got != want.State {
			t.Errorf("state = %s, want %s", got, want.State)
		}
	}
	if want.Remember != nil && s.Remember() != *want.Remember {
		t.Errorf("remember = %v, want %v", s.Remember(), *want.Remember)
	}
	if want.SIDs != nil {
		if got := rnd.got[sidsBefore:]; !reflect.DeepEqual(got, want.SIDs) {
			t.Errorf("generated sids = %v, want %v", got, want.SIDs)
		}
	}
	checkSetCookies(t, v, m, ex.setCookies, want)
	if s.state != stateClosed {
		checkContents(t, s, want)
	}
	if want.RequestHeaders != nil {
		for name, value := range want.RequestHeaders {
			if name == "user-agent" {
				continue
			}
			got := ex.requestHeaders[name]
			if name == "cookie" && step.Cmd != "clear" {
				got = ex.cookie
			}
			if got != value {
				t.Errorf("request header %s = %q, want %q", name, got, value)
			}
		}
	}
	if want.ResponseHeaders != nil && !reflect.DeepEqual(ex.responseHeaders, want.ResponseHeaders) {
		t.Errorf("response headers = %v, want %v", ex.responseHeaders, want.ResponseHeaders)
	}
}

// checkErr compares an error with the reference's message: same text (the
// reference's OpenSSL suffix aside) and the sentinel of its class.
func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("%s: no error, want %q", what, want)
	}
	wantMsg, _, _ := strings.Cut(want, " (")
	var e *Error
	if !errors.As(err, &e) || e.Msg != wantMsg {
		t.Errorf("%s: error %q, want message %q", what, err, wantMsg)
	}
	if kind := errorClass(wantMsg); kind != nil && !errors.Is(err, kind) {
		t.Errorf("%s: error %q does not match %v", what, err, kind)
	}
}

func errorClass(msg string) error {
	switch {
	case strings.HasPrefix(msg, "missing session"):
		return ErrNotFound
	case strings.Contains(msg, "timeout exceeded"), strings.Contains(msg, "lifetime exceeded"):
		return ErrExpired
	case strings.Contains(msg, "limit exceeded"):
		return ErrTooLarge
	case strings.HasPrefix(msg, "invalid"), strings.HasPrefix(msg, "unable to"):
		return ErrInvalid
	}
	return nil
}

func checkSetCookies(t *testing.T, v vector, m *Manager, got []string, want vectorResult) {
	t.Helper()
	if want.SetCookie == nil {
		return
	}
	if !inexact[v.Name] {
		if len(got) != len(want.SetCookie) || len(got) > 0 && !reflect.DeepEqual(got, want.SetCookie) {
			t.Errorf("Set-Cookie lines differ\n got: %q\nwant: %q", got, want.SetCookie)
		}
		return
	}
	// Same cookies and attributes; the same header fields but for data
	// size, tag and MAC; the same JSON value inside.
	if len(got) != len(want.SetCookie) {
		t.Fatalf("got %d Set-Cookie lines, want %d:\n%q", len(got), len(want.SetCookie), got)
	}
	for i := range got {
		gn, gv, gattrs := splitSetCookie(got[i])
		wn, wv, wattrs := splitSetCookie(want.SetCookie[i])
		if gn != wn || gattrs != wattrs {
			t.Errorf("cookie %d: %s...%s, want %s...%s", i, gn, gattrs, wn, wattrs)
		}
		if i > 0 || len(wv) < headerEncodedSize {
			continue
		}
		var gh, wh header
		for _, p := range []struct {
			v string
			h *header
		}{{gv, &gh}, {wv, &wh}} {
			raw, err := b64.DecodeString(p.v[:headerEncodedSize])
			if err != nil {
				t.Fatal(err)
			}
			p.h.unmarshal(raw)
		}
		gh.dataSize, gh.tag, gh.mac = 0, [16]byte{}, [16]byte{}
		wh.dataSize, wh.tag, wh.mac = 0, [16]byte{}, [16]byte{}
		if gh != wh {
			t.Errorf("header fields differ: got %+v, want %+v", gh, wh)
		}
	}
	for name, d := range want.Decoded {
		if d.Plaintext == "" {
			continue
		}
		r := newRecorder(joinCookies(got))
		s := m.NewSession(r)
		if name != "session" {
			continue
		}
		if err := s.Open(); err != nil {
			t.Fatalf("open own cookie: %v", err)
		}
		var wantEntries any
		if err := json.Unmarshal([]byte(d.Plaintext), &wantEntries); err != nil {
			t.Fatal(err)
		}
		b := new(bytes.Buffer)
		if err := encodeEntries(b, s.entries); err != nil {
			t.Fatal(err)
		}
		var gotEntries any
		if err := json.Unmarshal(b.Bytes(), &gotEntries); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotEntries, wantEntries) {
			t.Errorf("plaintext = %s, want %s", b, d.Plaintext)
		}
	}
}

func splitSetCookie(line string) (name, value, attrs string) {
	nv, attrs, _ := strings.Cut(line, ";")
	name, value, _ = strings.Cut(nv, "=")
	return name, value, attrs
}

// joinCookies turns Set-Cookie lines into the Cookie header a browser sends.
func joinCookies(lines []string) string {
	var parts []string
	for _, l := range lines {
		nv, _, _ := strings.Cut(l, ";")
		if !strings.HasSuffix(nv, "=") {
			parts = append(parts, nv)
		}
	}
	return strings.Join(parts, "; ")
}

func checkContents(t *testing.T, s *Session, want vectorResult) {
	t.Helper()
	if want.Data != nil && !jsonEqual(t, s.Data(), want.Data) {
		t.Errorf("data = %v, want %v", s.Data(), want.Data)
	}
	if want.Audience != nil && s.Audience() != *want.Audience {
		t.Errorf("audience = %q, want %q", s.Audience(), *want.Audience)
	}
	if want.Subject != nil && s.Subject() != *want.Subject {
		t.Errorf("subject = %q, want %q", s.Subject(), *want.Subject)
	}
	if want.Entries != nil {
		var got []map[string]any
		for _, e := range s.entries {
			m := map[string]any{"audience": e.audience, "data": e.data}
			if e.hasSubject {
				m["subject"] = e.subject
			}
			got = append(got, m)
		}
		if !jsonEqual(t, got, want.Entries) {
			t.Errorf("entries = %v, want %v", got, want.Entries)
		}
	}
	if p := want.Properties; p != nil {
		if s.ID() != p["id"] {
			t.Errorf("id = %q, want %v", s.ID(), p["id"])
		}
		for _, name := range []string{"timeout", "idling_timeout", "rolling_timeout", "absolute_timeout"} {
			got, ok := s.Property(Property(name))
			w, wok := p[name]
			if ok != wok || (ok && got != fmt.Sprint(int64(w.(float64)))) {
				t.Errorf("property %s = %q (%v), want %v (%v)", name, got, ok, w, wok)
			}
		}
		for name, got := range map[string]int64{
			"creation_time":  s.meta.creationTime,
			"rolling_offset": s.meta.rollingOffset,
			"idling_offset":  s.meta.idlingOffset,
			"flags":          int64(s.meta.flags),
			"data_size":      int64(s.meta.dataSize),
		} {
			if name == "data_size" && inexactSize(s) {
				continue
			}
			if w := int64(p[name].(float64)); got != w {
				t.Errorf("%s = %d, want %d", name, got, w)
			}
		}
	}
}

func inexactSize(s *Session) bool { return s.Get("v") != nil }

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	norm := func(v any) any {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}
