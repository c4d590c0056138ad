package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
)

// The suite's side of the adapter contract: the handler every adapter
// calls, the client that talks to the app, and the clock of the Managers.

// adapterSecret is the key of every Manager the suite builds.
const adapterSecret = "sessiongo conformance adapter suite"

// cookieAttrs are the attributes core gives every session Set-Cookie line
// with the suite's configuration; an adapter that formats cookies itself
// shows up as a line without them.
const cookieAttrs = "; Path=/; SameSite=Lax; Secure; HttpOnly"

// suiteTLS returns the TLS configuration of the suite's servers and the
// pool its clients trust, around a throwaway self-signed certificate for
// 127.0.0.1 made once. The suite serves HTTPS because session cookies are
// Secure by default, and a cookie jar sends Secure cookies over https only.
var suiteTLS = sync.OnceValues(func() (*testTLS, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sessiongo conformance suite"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &testTLS{
		server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}},
		client: &tls.Config{RootCAs: roots},
	}, nil
})

// testTLS is the TLS configuration of the suite's servers and clients.
type testTLS struct{ server, client *tls.Config }

// clock is the Managers' injected clock.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(c.now.Load(), 0) }
func (c *clock) Advance(d time.Duration) { c.now.Add(int64(d / time.Second)) }

// suite is one behaviour's run: its clock, its store and its app.
type suite struct {
	t        *testing.T
	serve    ServeFunc
	newStore func(t *testing.T) session.Store
	clock    clock
	store    session.Store
	base     string // the app's URL, once started
}

// mountSpec describes one mount; cfg gets the suite's secret, clock,
// store and logger.
type mountSpec struct {
	prefix string
	cfg    session.Config
	opts   MiddlewareOptions
}

// start serves an app with the given mounts (one default mount on "/a"
// when none is given) and returns a client with an empty cookie jar.
func (s *suite) start(specs ...mountSpec) *client {
	t := s.t
	t.Helper()
	if len(specs) == 0 {
		specs = []mountSpec{{prefix: "/a"}}
	}
	if s.clock.now.Load() == 0 {
		s.clock.now.Store(1700000000)
	}
	if s.newStore != nil && s.store == nil {
		s.store = s.newStore(t)
	}
	app := &App{Handler: handle}
	for _, sp := range specs {
		cfg := sp.cfg
		cfg.Secret = adapterSecret
		cfg.Clock = s.clock.Now
		cfg.Store = s.store
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
		m, err := session.New(cfg)
		if err != nil {
			t.Fatalf("session.New: %v", err)
		}
		app.Mounts = append(app.Mounts, Mount{Prefix: sp.prefix, Manager: m, Options: sp.opts})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	certs, err := suiteTLS()
	if err != nil {
		t.Fatalf("making the suite's TLS certificate: %v", err)
	}
	ln = tls.NewListener(ln, certs.server)
	s.serve(t, ln, app)
	s.base = "https://" + ln.Addr().String()
	return s.newClient(s.base)
}

// newClient returns a client of the app at base with an empty jar.
func (s *suite) newClient(base string) *client {
	t := s.t
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	certs, err := suiteTLS()
	if err != nil {
		t.Fatalf("making the suite's TLS certificate: %v", err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 32, TLSClientConfig: certs.client}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{
		t:   t,
		url: u,
		jar: jar,
		http: &http.Client{
			Jar:       jar,
			Transport: checkTransport{t: t, base: tr},
			Timeout:   30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// state is what the suite's handler reports about the request's session.
type state struct {
	Exists    bool              `json:"exists"`
	ID        string            `json:"id"`
	Audience  string            `json:"audience"`
	Audiences []string          `json:"audiences"`
	Subject   string            `json:"subject"`
	Data      map[string]any    `json:"data"`
	Remember  bool              `json:"remember"`
	Cookie    string            `json:"cookie"`  // the request's Cookie header
	Headers   map[string]string `json:"headers"` // the request's Session-* headers
	Error     string            `json:"error"`   // of the operation

	// The service operation's report: what session.FromContext returned
	// for the request's context ("same" as the accessor's session, "none",
	// or "other"), and what the service function read through it.
	Context  string `json:"context,omitempty"`
	Greeting string `json:"greeting,omitempty"`
}

// handle is the suite's Handler. The last path segment is the operation:
//
//	state       report the session
//	save        apply the query (below), Save, report
//	change      apply the query without saving, report (AutoSave saves)
//	late-save   write a first line of body, apply the query, Save, report
//	big?n=N     set "big" to N characters of incompressible text, Save
//	logout      Logout, report
//	destroy     Destroy, report
//	service     call service code with the request's context only, report
//	            what it found there (see greeting)
//
// Query parameters: subject=S sets the subject, remember=1|0 sets
// remember, del=K deletes key K, any other K=V sets data key K to V.
func handle(s *session.Session, r *Request, w http.ResponseWriter) {
	if s == nil {
		http.Error(w, "the adapter's accessor returned no session", http.StatusInternalServerError)
		return
	}
	var err error
	var fromContext, greet string
	switch op := lastSegment(r.Path); op {
	case "state":
	case "service":
		if r.Context == nil {
			http.Error(w, "conformance.Request.Context is nil: the adapter's test must set it to the context.Context its framework hands handlers for service code", http.StatusInternalServerError)
			return
		}
		switch cs := session.FromContext(r.Context); cs {
		case nil:
			fromContext = "none"
		case s:
			fromContext = "same"
		default:
			fromContext = "other"
		}
		greet = greeting(r.Context)
	case "save", "change", "late-save":
		if op == "late-save" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "body first\n") //nolint:errcheck // the client checks the body
		}
		apply(s, r.Query)
		if op != "change" {
			err = s.Save()
		}
	case "big":
		n, _ := strconv.Atoi(r.Query.Get("n"))
		s.Set("big", incompressible(n))
		err = s.Save()
	case "logout":
		err = s.Logout()
	case "destroy":
		err = s.Destroy()
	default:
		http.Error(w, "unknown operation "+op, http.StatusNotFound)
		return
	}
	st := state{
		Exists:    s.Exists(),
		ID:        s.ID(),
		Audience:  s.Audience(),
		Audiences: s.Audiences(),
		Subject:   s.Subject(),
		Data:      s.Data(),
		Remember:  s.Remember(),
		Cookie:    r.Header.Get("Cookie"),
		Headers:   map[string]string{},
		Context:   fromContext,
		Greeting:  greet,
	}
	for name, v := range r.Header {
		if strings.HasPrefix(name, "Session-") && len(v) > 0 {
			st.Headers[name] = v[0]
		}
	}
	if err != nil {
		st.Error = err.Error()
	}
	body, err := json.Marshal(st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Write(body) //nolint:errcheck // the client checks the body
}

// greeting stands for an application's service code: it takes only a
// context.Context, and reads the request's session (a value set at login)
// through session.FromContext. Without a session in ctx it returns "".
func greeting(ctx context.Context) string {
	s := session.FromContext(ctx)
	if s == nil {
		return ""
	}
	name := s.Subject()
	if name == "" {
		name = "stranger"
	}
	return "hello, " + name
}

func apply(s *session.Session, q url.Values) {
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "subject":
			s.SetSubject(v)
		case "remember":
			s.SetRemember(v == "1")
		case "del":
			s.Set(v, nil)
		default:
			s.Set(k, v)
		}
	}
}

// incompressible returns n characters that deflate cannot shrink much.
func incompressible(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	rnd := mathrand.New(mathrand.NewPCG(uint64(n), 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rnd.IntN(len(alphabet))]
	}
	return string(b)
}

// client talks to the app with a cookie jar, like a browser.
type client struct {
	t    *testing.T
	url  *url.URL
	jar  *cookiejar.Jar
	http *http.Client
}

// get requests path with the query pairs (key, value, key, value...) and
// returns the handler's report and the response (its body read).
func (c *client) get(path string, pairs ...string) (*state, *http.Response) {
	c.t.Helper()
	return c.do(path, nil, pairs...)
}

// do is get with extra request headers.
func (c *client) do(path string, header http.Header, pairs ...string) (*state, *http.Response) {
	c.t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		q.Add(pairs[i], pairs[i+1])
	}
	u := c.url.ResolveReference(&url.URL{Path: path, RawQuery: q.Encode()})
	req, err := http.NewRequest("GET", u.String(), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: status %d (%s), want 200", path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	i := strings.IndexByte(string(body), '{')
	if i < 0 {
		c.t.Fatalf("GET %s: no report in the body %q", path, body)
	}
	var st state
	if err := json.Unmarshal(body[i:], &st); err != nil {
		c.t.Fatalf("GET %s: bad report %q: %v", path, body, err)
	}
	if st.Error != "" {
		c.t.Fatalf("GET %s: the operation failed: %s", path, st.Error)
	}
	return &st, resp
}

// raw requests path with the query pairs, like get, and returns the status
// and body whatever they are.
func (c *client) raw(path string, pairs ...string) (int, string) {
	c.t.Helper()
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		q.Add(pairs[i], pairs[i+1])
	}
	u := c.url.ResolveReference(&url.URL{Path: path, RawQuery: q.Encode()})
	resp, err := c.http.Get(u.String())
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// cookie returns the value of the jar's cookie called name ("" if none).
func (c *client) cookie(name string) string {
	for _, ck := range c.jar.Cookies(c.url) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie puts a cookie in the jar; an empty value removes it.
func (c *client) setCookie(name, value string) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/"}
	if value == "" {
		ck.MaxAge = -1
	}
	c.jar.SetCookies(c.url, []*http.Cookie{ck})
}

// cookieNames returns the names of the jar's cookies.
func (c *client) cookieNames() []string {
	var names []string
	for _, ck := range c.jar.Cookies(c.url) {
		names = append(names, ck.Name)
	}
	return names
}

// setCookies returns the Set-Cookie lines of resp for name.
func setCookies(resp *http.Response, name string) []string {
	var out []string
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			out = append(out, line)
		}
	}
	return out
}

// checkTransport checks every response for two Set-Cookie lines with one
// name and for session cookies that core did not format.
type checkTransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (c checkTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	checkSetCookies(c.t, req.Method, req.URL.Path, resp)
	return resp, nil
}

// checkSetCookies reports two Set-Cookie lines with one name in resp, and
// session cookies that core did not format; method and path name the
// request.
func checkSetCookies(t testing.TB, method, path string, resp *http.Response) {
	t.Helper()
	seen := map[string]bool{}
	for _, line := range resp.Header.Values("Set-Cookie") {
		name, rest, _ := strings.Cut(line, "=")
		if seen[name] {
			t.Errorf("%s %s: two Set-Cookie lines for %q in one response (a response carries at most one Set-Cookie per cookie name)", method, path, name)
		}
		seen[name] = true
		if sessionCookie(name) {
			_, attrs, _ := strings.Cut(rest, ";")
			attrs = ";" + attrs
			if !strings.HasPrefix(attrs, cookieAttrs) || !validTail(attrs[len(cookieAttrs):]) {
				t.Errorf("%s %s: Set-Cookie %q was not formatted by core (want the attributes %q): adapters never format cookies", method, path, line, cookieAttrs)
			}
		}
	}
}

// validTail reports whether s is what core appends after the common
// attributes: nothing, or Expires and Max-Age.
func validTail(s string) bool {
	return s == "" || strings.HasPrefix(s, "; Expires=") && strings.Contains(s, "; Max-Age=")
}

// sessionCookie reports whether name is one of the suite's session cookies.
func sessionCookie(name string) bool {
	if name == "remember" {
		return true
	}
	rest, ok := strings.CutPrefix(name, "session")
	return ok && (rest == "" || len(rest) == 1 && rest[0] >= '2' && rest[0] <= '9')
}
