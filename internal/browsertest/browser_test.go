package browsertest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
	"github.com/sessiongo/session/internal/loadtest/exampleapp"
)

// growBytes is the ballast the test adds to the session: with alice's
// profile, enough for three cookie chunks of at most 4096 bytes each (and
// less than four), in the session cookie and in the remember cookie.
const growBytes = 9000

// TestBrowser drives the example app with headless Chromium over HTTPS
// (a certificate made for the test, trusted by its key), with __Host-
// cookies, from sign-in with remember-me to logout. Each step checks the
// page and the browser's own cookie jar; a failing step saves a screenshot,
// the page and the cookies in a directory named in the failure.
func TestBrowser(t *testing.T) {
	chromium := findChromium(t)
	root, err := exampleapp.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, err := exampleapp.Build(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, spki := testCertificate(t, dir)
	appLog := &syncWriter{}
	app, err := exampleapp.Start(ctx, bin, exampleapp.Config{
		Store: "memory", Mode: "cookie", TLSCert: certFile, TLSKey: keyFile, HostPrefix: true,
		Secret: "browsertest-secret", Log: appLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Stop()
	base := "https://" + app.Addr
	host, _, _ := net.SplitHostPort(app.Addr)

	b := &browser{t: t, exec: chromium, profile: filepath.Join(dir, "profile"), spki: spki, appLog: appLog}
	b.start(ctx)
	defer func() { b.stop() }()

	b.step("a visitor gets the login form and no cookie", func() error {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(`form[action="/login"]`)); err != nil {
			return err
		}
		return wantCookies(b.cookies(), nil)
	})

	b.step("alice signs in with remember me", func() error {
		if err := chromedp.Do(b.ctx,
			chromedp.SendKeys(`input[name="user"]`, "alice"),
			chromedp.Click(`input[name="remember"]`),
		); err != nil {
			return err
		}
		if err := b.submit(`form[action="/login"] button`); err != nil {
			return err
		}
		return wantPage(b, map[string]string{"user": "alice", "visits": "0", "remember": "true"}, "Welcome, Alice Archer.")
	})

	b.step("the session grows to three chunks, and a reload reads it back", func() error {
		status, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](
			fmt.Sprintf(`fetch("/grow", {method: "POST", body: new URLSearchParams({bytes: "%d"})}).then(r => r.status)`, growBytes),
			chromedp.EvalAwaitPromise))
		if err != nil {
			return err
		}
		if status != 200 {
			return fmt.Errorf("POST /grow (following its redirect): status %d", status)
		}
		if err := chromedp.Do(b.ctx, chromedp.Reload(), chromedp.WaitVisible(`#user`)); err != nil {
			return err
		}
		if err := wantPage(b, map[string]string{"user": "alice", "visits": "0", "remember": "true"}, ""); err != nil {
			return err
		}
		// A visit saves the grown session: three chunks again, read back.
		if err := b.submit(`form[action="/visit"] button`); err != nil {
			return err
		}
		if err := chromedp.Do(b.ctx, chromedp.Reload(), chromedp.WaitVisible(`#user`)); err != nil {
			return err
		}
		if err := wantPage(b, map[string]string{"user": "alice", "visits": "1", "remember": "true"}, ""); err != nil {
			return err
		}
		cookies := b.cookies()
		if err := wantCookies(cookies, []string{
			"__Host-remember", "__Host-remember2", "__Host-remember3",
			"__Host-session", "__Host-session2", "__Host-session3",
		}); err != nil {
			return err
		}
		if err := wantAttributes(cookies, host, time.Now()); err != nil {
			return err
		}
		// HttpOnly: the page's script sees none of them.
		if js, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil || js != "" {
			return fmt.Errorf("document.cookie = %q (%v), want empty: the cookies are HttpOnly", js, err)
		}
		return nil
	})

	b.step("after a browser restart the remember cookie restores the session", func() error {
		b.stop() // a graceful close: Chromium writes its persistent cookies to the profile
		b.start(ctx)
		// The session cookies (no expiry) died with the browser; the
		// remember cookies (Max-Age) were kept on disk.
		if err := wantCookies(b.cookies(), []string{"__Host-remember", "__Host-remember2", "__Host-remember3"}); err != nil {
			return err
		}
		if err := chromedp.Do(b.ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(`#user`)); err != nil {
			return err
		}
		if err := wantPage(b, map[string]string{"user": "alice", "visits": "1", "remember": "true"}, ""); err != nil {
			return err
		}
		cookies := b.cookies()
		if err := wantCookies(cookies, []string{
			"__Host-remember", "__Host-remember2", "__Host-remember3",
			"__Host-session", "__Host-session2", "__Host-session3",
		}); err != nil {
			return err
		}
		return wantAttributes(cookies, host, time.Now())
	})

	b.step("logout removes every cookie", func() error {
		if err := b.submit(`form[action="/logout"] button`); err != nil {
			return err
		}
		if err := chromedp.Do(b.ctx, chromedp.WaitVisible(`form[action="/login"]`)); err != nil {
			return err
		}
		if err := wantCookies(b.cookies(), nil); err != nil {
			return err
		}
		// And a reload stays signed out.
		if err := chromedp.Do(b.ctx, chromedp.Reload(), chromedp.WaitVisible(`form[action="/login"]`)); err != nil {
			return err
		}
		return wantCookies(b.cookies(), nil)
	})
}

// findChromium returns the path of chromium, or skips the test (fails it
// with SESSIONGO_REQUIRE_SERVICES=1) when it is not installed.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed: .ci/setup.d/40-chromium.sh installs Debian's package"
	if os.Getenv("SESSIONGO_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + " (SESSIONGO_REQUIRE_SERVICES=1)")
	}
	t.Skip(msg)
	return ""
}

// testCertificate writes a self-signed certificate for 127.0.0.1 and
// localhost, and its key, into dir; spki is the base64 SHA-256 of its
// public key, which Chromium is told to trust.
func testCertificate(t *testing.T, dir string) (certFile, keyFile, spki string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(18),
		Subject:      pkix.Name{CommonName: "sessiongo browser test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pub)
	return certFile, keyFile, base64.StdEncoding.EncodeToString(sum[:])
}

// browser is one Chromium on a profile directory that outlives it, so
// that a restart keeps what a browser keeps on disk.
type browser struct {
	t       *testing.T
	exec    string
	profile string
	spki    string
	appLog  *syncWriter

	ctx    context.Context
	cancel func()
	n      int // screenshots taken
}

func (b *browser) start(ctx context.Context) {
	b.t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(b.exec),
		chromedp.UserDataDir(b.profile),
		chromedp.NoSandbox, // the test may run as root
		chromedp.Flag("ignore-certificate-errors-spki-list", b.spki),
		chromedp.WindowSize(1024, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		bcancel()
		acancel()
		b.t.Fatalf("starting %s: %v", b.exec, err)
	}
	b.ctx = bctx
	b.cancel = func() {
		cctx, ccancel := context.WithTimeout(bctx, 20*time.Second)
		defer ccancel()
		if err := chromedp.Cancel(cctx); err != nil {
			b.t.Logf("closing the browser: %v", err)
		}
		bcancel()
		acancel()
	}
}

func (b *browser) stop() {
	if b.cancel != nil {
		b.cancel()
		b.cancel = nil
	}
}

// submit clicks the button sel of a form and waits for the page the post
// leads to (the example answers 303 to its page), which must be a 200.
func (b *browser) submit(sel string) error {
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(sel))
	if err != nil {
		return fmt.Errorf("%s: %w", sel, err)
	}
	if resp.Status != 200 {
		return fmt.Errorf("%s: the page after the post: %d %s", sel, resp.Status, resp.StatusText)
	}
	return nil
}

// cookies returns the browser's cookies, or fails the test.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		b.t.Fatalf("Storage.getCookies: %v", err)
	}
	return res.Cookies
}

// step runs fn as one step of the test. When it fails, the page (a
// screenshot and its HTML), the cookies and the app's log are saved in
// an artifact directory that the failure names, and the test stops.
func (b *browser) step(name string, fn func() error) {
	b.t.Helper()
	err := fn()
	if err == nil {
		return
	}
	dir := b.artifacts(name)
	b.t.Fatalf("%s: %v\nscreenshot, page, cookies and the app's log in %s", name, err, dir)
}

// artifacts saves what the browser shows now and returns the directory, a
// new one kept after the test: under $SESSIONGO_ARTIFACTS when set, else
// under the test's output directory (go test -outputdir), else in the
// system's temporary directory.
func (b *browser) artifacts(step string) string {
	parent := os.Getenv("SESSIONGO_ARTIFACTS")
	if f := flag.Lookup("test.outputdir"); parent == "" && f != nil {
		parent = f.Value.String()
	}
	if parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "(none: " + err.Error() + ")"
	}
	dir, err := os.MkdirTemp(parent, "browsertest-")
	if err != nil {
		return "(none: " + err.Error() + ")"
	}
	b.n++
	slug := regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(step), "-")
	save := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d-%s-%s", b.n, slug, name)), data, 0o644); err != nil {
			b.t.Logf("saving %s: %v", name, err)
		}
	}
	if b.ctx != nil && b.ctx.Err() == nil {
		sctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil { // 100: PNG
			save("screenshot.png", png)
		} else {
			save("screenshot-error.txt", []byte(err.Error()))
		}
		if html, err := chromedp.Run(sctx, chromedp.OuterHTML("html")); err == nil {
			save("page.html", []byte(html))
		}
		if res, err := chromedp.Call(sctx, storage.GetCookies, storage.GetCookiesParams{}); err == nil {
			js, _ := json.MarshalIndent(res.Cookies, "", "  ")
			save("cookies.json", js)
		}
	}
	save("app.log", b.appLog.bytes())
	return dir
}

// syncWriter is a buffer safe for concurrent use: the app's standard
// error, written by os/exec, read when a step fails.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.b.Bytes())
}

// wantPage checks the page's fields (by element id) and, when notice is
// not empty, that the page shows it.
func wantPage(b *browser, fields map[string]string, notice string) error {
	html, err := chromedp.Run(b.ctx, chromedp.OuterHTML("html"))
	if err != nil {
		return err
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range fields {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range ids {
		got, err := chromedp.Run(b.ctx, chromedp.Text("#"+id))
		if err != nil {
			return fmt.Errorf("#%s: %w", id, err)
		}
		if got != fields[id] {
			return fmt.Errorf("#%s = %q, want %q", id, got, fields[id])
		}
	}
	if notice != "" && !strings.Contains(html, notice) {
		return fmt.Errorf("the page does not show %q", notice)
	}
	return nil
}

// wantCookies checks that the jar holds exactly the cookies named.
func wantCookies(cookies []*network.Cookie, names []string) error {
	var got []string
	for _, c := range cookies {
		got = append(got, c.Name)
	}
	slices.Sort(got)
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("the browser holds the cookies %q, want %q", got, want)
	}
	return nil
}

// wantAttributes checks every cookie as the __Host- prefix and the
// library require: Secure, HttpOnly, Path=/, host-only on host (no
// Domain attribute), SameSite=Lax, set over HTTPS, at most 4096 bytes of
// name and value; the session cookies (__Host-session*) end with the
// browser session, the remember cookies last about seven days from now.
func wantAttributes(cookies []*network.Cookie, host string, now time.Time) error {
	for _, c := range cookies {
		switch {
		case !strings.HasPrefix(c.Name, "__Host-"):
			return fmt.Errorf("%s: no __Host- prefix", c.Name)
		case !c.Secure:
			return fmt.Errorf("%s: not Secure", c.Name)
		case !c.HTTPOnly:
			return fmt.Errorf("%s: not HttpOnly", c.Name)
		case c.Path != "/":
			return fmt.Errorf("%s: Path %q, want /", c.Name, c.Path)
		case c.Domain != host:
			return fmt.Errorf("%s: Domain %q, want the host-only %q", c.Name, c.Domain, host)
		case c.SameSite != network.CookieSameSiteLax:
			return fmt.Errorf("%s: SameSite %q, want Lax", c.Name, c.SameSite)
		case c.SourceScheme != network.CookieSourceSchemeSecure:
			return fmt.Errorf("%s: source scheme %q, want Secure", c.Name, c.SourceScheme)
		case len(c.Name)+len(c.Value) > 4096:
			return fmt.Errorf("%s: %d bytes of name and value, more than a browser keeps", c.Name, len(c.Name)+len(c.Value))
		}
		remember := strings.HasPrefix(c.Name, "__Host-remember")
		if !remember && !c.Session {
			return fmt.Errorf("%s: expires at %v, want a session cookie", c.Name, c.Expires)
		}
		if remember {
			exp := time.Unix(int64(c.Expires), 0)
			if c.Session || exp.Before(now.Add(7*24*time.Hour-time.Hour)) || exp.After(now.Add(7*24*time.Hour+time.Hour)) {
				return fmt.Errorf("%s: expires at %v (session %v), want about seven days from %v", c.Name, exp, c.Session, now)
			}
		}
	}
	return nil
}
