package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

const testSecret = "oidc back-channel logout example test secret"

// testClock is the clock of the application and of the tokens.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time             { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration)        { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
func newTestClock() *testClock                  { return &testClock{now: time.Unix(1_800_000_000, 0)} }
func (c *testClock) unix(d time.Duration) int64 { return c.Now().Add(d).Unix() }

// countingBackend is the revocation backend: a memory store whose writes
// are counted, and can be made to fail.
type countingBackend struct {
	*session.MemoryStore
	mu      sync.Mutex
	revokes int
	down    error
}

func (b *countingBackend) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	b.mu.Lock()
	b.revokes++
	err := b.down
	b.mu.Unlock()
	if err != nil {
		return err
	}
	return b.MemoryStore.Revoke(ctx, marks, now)
}

func (b *countingBackend) writes() int { b.mu.Lock(); defer b.mu.Unlock(); return b.revokes }

func (b *countingBackend) fail(err error) { b.mu.Lock(); b.down = err; b.mu.Unlock() }

// testApp is the application served over HTTP, with its simulated
// provider, whose key the test signs with.
type testApp struct {
	*app
	srv     *httptest.Server
	clock   *testClock
	backend *countingBackend
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	ms, err := session.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ms.Stop)
	ta := &testApp{clock: newTestClock(), backend: &countingBackend{MemoryStore: ms}}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := newApp(testSecret, "127.0.0.1:0", nil, ta.backend, ta.clock.Now, logger)
	if err != nil {
		t.Fatal(err)
	}
	ta.app = a
	ta.srv = httptest.NewServer(a.handler())
	t.Cleanup(ta.srv.Close)
	return ta
}

// browser is a cookie jar of its own.
type browser struct {
	t *testing.T
	c *http.Client
	a *testApp
}

func (ta *testApp) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, a: ta, c: &http.Client{Jar: jar}}
}

var signedIn = regexp.MustCompile(`Signed in as <b>([^<]*)</b> \(provider session <code>([^<]*)</code>\)`)

// whoami loads the page: the signed-in user and provider session, or
// empty strings.
func (b *browser) whoami() (user, sid string) {
	b.t.Helper()
	resp, err := b.c.Get(b.a.srv.URL + "/")
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /: %s %s", resp.Status, body)
	}
	if m := signedIn.FindSubmatch(body); m != nil {
		return string(m[1]), string(m[2])
	}
	return "", ""
}

// signIn signs in through the simulated provider and returns the
// provider session.
func (b *browser) signIn(user string) string {
	b.t.Helper()
	resp, err := b.c.PostForm(b.a.srv.URL+"/login", url.Values{"user": {user}})
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	got, sid := b.whoami()
	if got != user || sid == "" {
		b.t.Fatalf("after signing in as %s: the page shows %q (sid %q)", user, got, sid)
	}
	return sid
}

func (b *browser) want(user, why string) {
	b.t.Helper()
	if got, _ := b.whoami(); got != user {
		if user == "" {
			b.t.Errorf("%s: signed in as %q; want signed out", why, got)
		} else {
			b.t.Errorf("%s: signed in as %q; want %q", why, got, user)
		}
	}
}

// claims returns a valid logout token's claims, for the provider session
// sid of sub (sid may be empty).
func (ta *testApp) claims(sub, sid string) map[string]any {
	c := map[string]any{
		"iss":    ta.idp.issuer,
		"aud":    []string{ta.idp.clientID, "another-client"},
		"iat":    ta.clock.unix(0),
		"exp":    ta.clock.unix(2 * time.Minute),
		"jti":    rand.Text(),
		"events": map[string]any{backchannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

// sign signs claims with the provider's key, typed logout+jwt.
func (ta *testApp) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	tok, err := signJWT(ta.idp.key, ta.idp.kid, jose.ES256, map[jose.HeaderKey]any{jose.HeaderType: "logout+jwt"}, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// post posts a form to the back-channel endpoint, as the provider does,
// and checks that the answer is never cached.
func (ta *testApp) post(t *testing.T, form url.Values) (int, map[string]string) {
	t.Helper()
	resp, err := http.PostForm(ta.srv.URL+"/backchannel-logout", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("back-channel answer %s with Cache-Control %q; want no-store", resp.Status, cc)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
		t.Errorf("back-channel answer sets cookies: %q", sc)
	}
	var body map[string]string
	if resp.StatusCode != http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body["error"] == "" {
			t.Errorf("back-channel answer %s without a JSON error: %v", resp.Status, err)
		}
	}
	return resp.StatusCode, body
}

func (ta *testApp) logout(t *testing.T, token string) (int, map[string]string) {
	t.Helper()
	return ta.post(t, url.Values{"logout_token": {token}})
}

// TestBackchannelLogout signs a user in from two browsers and another user
// from a third, then has the provider log out one provider session (sid),
// then the user everywhere (sub): each browser is signed out on its next
// request, and no other; a new sign-in afterwards works.
func TestBackchannelLogout(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	laptop, phone, bobs := ta.browser(t), ta.browser(t), ta.browser(t)
	laptopSID := laptop.signIn("alice")
	phoneSID := phone.signIn("alice")
	bobs.signIn("bob")
	if laptopSID == phoneSID {
		t.Fatal("two sign-ins got the same provider session")
	}

	// The provider session of the laptop: alice's phone stays signed in.
	if code, body := ta.logout(t, ta.sign(t, ta.claims("alice", laptopSID))); code != http.StatusOK {
		t.Fatalf("logout token for one provider session: %d %v", code, body)
	}
	laptop.want("", "the laptop after a logout token for its provider session")
	phone.want("alice", "alice's phone (another provider session) after the laptop's logout token")
	bobs.want("bob", "bob after alice's laptop's logout token")

	// A sid without sub is enough.
	bobSID := func() string { _, sid := bobs.whoami(); return sid }()
	if code, body := ta.logout(t, ta.sign(t, ta.claims("", bobSID))); code != http.StatusOK {
		t.Fatalf("logout token with sid only: %d %v", code, body)
	}
	bobs.want("", "bob after a logout token with his sid only")

	// The user everywhere: no sid.
	if code, body := ta.logout(t, ta.sign(t, ta.claims("alice", ""))); code != http.StatusOK {
		t.Fatalf("logout token for the user: %d %v", code, body)
	}
	phone.want("", "alice's phone after a logout token for the user (sub, no sid)")

	// Signing in again afterwards works: the marks revoke what was
	// created until they were written.
	ta.clock.Add(time.Second)
	laptop.signIn("alice")
	laptop.want("alice", "alice signing in again a second after the logout")
	if n := ta.backend.writes(); n != 3 {
		t.Errorf("%d revocation writes; want 3, one per logout token", n)
	}
}

// TestBackchannelRejects posts tokens that fail one check each: every one
// is answered 400 and revokes nothing.
func TestBackchannelRejects(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	alice, bob := ta.browser(t), ta.browser(t)
	sid := alice.signIn("alice")
	bob.signIn("bob")
	now := ta.clock.unix

	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	with := func(change func(c map[string]any)) string {
		c := ta.claims("alice", sid)
		change(c)
		return ta.sign(t, c)
	}
	signed := func(key any, kid string, alg jose.SignatureAlgorithm, headers map[jose.HeaderKey]any) string {
		tok, err := signJWT(key, kid, alg, headers, ta.claims("alice", sid))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	b64 := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(ta.claims("alice", sid))
	logoutTyp := map[jose.HeaderKey]any{jose.HeaderType: "logout+jwt"}
	valid := ta.sign(t, ta.claims("alice", sid))
	parts := strings.Split(valid, ".")

	tests := []struct {
		name string
		form url.Values
		why  string // in the error description
	}{
		{"no logout_token", url.Values{}, "no logout_token"},
		{"not a JWT", url.Values{"logout_token": {"not.a.jwt"}}, "illegal base64"},
		{"five parts (JWE)", url.Values{"logout_token": {valid + ".x.y"}}, "not a signed JWT"},
		{"bad signature: another key, same kid", url.Values{"logout_token": {signed(otherKey, ta.idp.kid, jose.ES256, logoutTyp)}}, "cryptographic primitive"},
		{"tampered payload", url.Values{"logout_token": {parts[0] + "." + b64([]byte(strings.Replace(string(payload), `"alice"`, `"bob"`, 1))) + "." + parts[2]}}, "cryptographic primitive"},
		{"unknown kid", url.Values{"logout_token": {signed(otherKey, "someone-else", jose.ES256, logoutTyp)}}, "no single key"},
		{"alg none", url.Values{"logout_token": {b64([]byte(`{"alg":"none","kid":"`+ta.idp.kid+`"}`)) + "." + b64(payload) + "."}}, "unexpected signature algorithm"},
		{"alg HS256 (symmetric)", url.Values{"logout_token": {signed([]byte(strings.Repeat("k", 32)), ta.idp.kid, jose.HS256, logoutTyp)}}, "unexpected signature algorithm"},
		{"alg EdDSA, not the key's", url.Values{"logout_token": {signed(edKey, ta.idp.kid, jose.EdDSA, logoutTyp)}}, "no single key"},
		{"typ of an access token", url.Values{"logout_token": {signed(ta.idp.key, ta.idp.kid, jose.ES256, map[jose.HeaderKey]any{jose.HeaderType: "at+jwt"})}}, "typ"},
		{"wrong iss", url.Values{"logout_token": {with(func(c map[string]any) { c["iss"] = "https://evil.example" })}}, "iss"},
		{"no iss", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "iss") })}}, "iss"},
		{"wrong aud", url.Values{"logout_token": {with(func(c map[string]any) { c["aud"] = "another-client" })}}, "aud"},
		{"no aud", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "aud") })}}, "aud"},
		{"azp of another client", url.Values{"logout_token": {with(func(c map[string]any) { c["azp"] = "another-client" })}}, "azp"},
		{"no iat", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "iat") })}}, "no iat"},
		{"iat in the future", url.Values{"logout_token": {with(func(c map[string]any) { c["iat"] = now(2 * time.Minute) })}}, "iat in the future"},
		{"iat too old, no exp", url.Values{"logout_token": {with(func(c map[string]any) { c["iat"] = now(-4 * time.Minute); delete(c, "exp") })}}, "iat older"},
		{"expired", url.Values{"logout_token": {with(func(c map[string]any) { c["iat"] = now(-90 * time.Second); c["exp"] = now(-61 * time.Second) })}}, "expired"},
		{"nbf in the future", url.Values{"logout_token": {with(func(c map[string]any) { c["nbf"] = now(2 * time.Minute) })}}, "nbf"},
		{"no jti", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "jti") })}}, "no jti"},
		{"no events", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "events") })}}, "back-channel logout event"},
		{"events without the logout event", url.Values{"logout_token": {with(func(c map[string]any) {
			c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
		})}}, "back-channel logout event"},
		{"logout event not an object", url.Values{"logout_token": {with(func(c map[string]any) {
			c["events"] = map[string]any{backchannelLogoutEvent: true}
		})}}, "back-channel logout event"},
		{"a nonce", url.Values{"logout_token": {with(func(c map[string]any) { c["nonce"] = "n-0S6_WzA2Mj" })}}, "nonce"},
		{"a null nonce", url.Values{"logout_token": {with(func(c map[string]any) { c["nonce"] = nil })}}, "nonce"},
		{"neither sid nor sub", url.Values{"logout_token": {with(func(c map[string]any) { delete(c, "sid"); delete(c, "sub") })}}, "neither sid nor sub"},
		{"sid not a string", url.Values{"logout_token": {with(func(c map[string]any) { c["sid"] = 42 })}}, "cannot unmarshal"},
		{"token in the query, not the body", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			if tt.form == nil {
				resp, err := http.Post(ta.srv.URL+"/backchannel-logout?logout_token="+url.QueryEscape(valid), "application/x-www-form-urlencoded", nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				code = resp.StatusCode
			} else {
				var body map[string]string
				code, body = ta.post(t, tt.form)
				if !strings.Contains(body["error_description"], tt.why) {
					t.Errorf("%s: rejected for %q; want a reason with %q", tt.name, body["error_description"], tt.why)
				}
			}
			if code != http.StatusBadRequest {
				t.Errorf("%s: answered %d; want 400", tt.name, code)
			}
		})
	}
	if n := ta.backend.writes(); n != 0 {
		t.Errorf("%d revocation writes after rejected tokens; want none", n)
	}
	alice.want("alice", "alice after every rejected token")
	bob.want("bob", "bob after every rejected token")

	// The valid token these were made from works, once.
	if code, body := ta.logout(t, valid); code != http.StatusOK {
		t.Fatalf("the valid token: %d %v", code, body)
	}
	alice.want("", "alice after the valid token")
	if code, _ := ta.logout(t, valid); code != http.StatusBadRequest {
		t.Errorf("the same token again (a replay): %d; want 400", code)
	}
	if n := ta.backend.writes(); n != 1 {
		t.Errorf("%d revocation writes after a token and its replay; want 1", n)
	}

	// A replay a while later, once alice signed in again, must not sign
	// her out: the token's jti is remembered as long as it is accepted.
	ta.clock.Add(time.Minute)
	alice.signIn("alice")
	if code, _ := ta.logout(t, valid); code != http.StatusBadRequest {
		t.Errorf("a replay a minute later: %d; want 400", code)
	}
	alice.want("alice", "alice's new sign-in after a replayed logout token")
	// And once its lifetime is over, it is refused as expired.
	ta.clock.Add(3 * time.Minute)
	if code, _ := ta.logout(t, valid); code != http.StatusBadRequest {
		t.Errorf("a replay after the token's lifetime: %d; want 400", code)
	}

	resp, err := http.Get(ta.srv.URL + "/backchannel-logout")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /backchannel-logout: %d; want 405", resp.StatusCode)
	}
}

// TestBackchannelBackendDown checks that a logout the revocation backend
// could not record is answered 400, revokes nothing, and can be retried
// with the same token once the backend is back.
func TestBackchannelBackendDown(t *testing.T) {
	t.Parallel()
	ta := newTestApp(t)
	alice := ta.browser(t)
	sid := alice.signIn("alice")
	token := ta.sign(t, ta.claims("alice", sid))
	ta.backend.fail(errors.New("connection refused"))
	code, body := ta.logout(t, token)
	if code != http.StatusBadRequest || body["error"] != "server_error" || strings.Contains(body["error_description"], "refused") {
		t.Errorf("logout with the backend down: %d %v; want 400 server_error, without the store's error", code, body)
	}
	ta.backend.fail(nil)
	if code, body := ta.logout(t, token); code != http.StatusOK {
		t.Errorf("the same token once the backend is back: %d %v; want 200", code, body)
	}
	alice.want("", "alice after the retried logout")
}

// TestNewVerifier checks the configurations a verifier refuses, and the
// provider configuration file.
func TestNewVerifier(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := jose.JSONWebKey{Key: key.Public(), KeyID: "k", Algorithm: "ES256", Use: "sig"}
	priv := jose.JSONWebKey{Key: key, KeyID: "k", Algorithm: "ES256", Use: "sig"}
	enc := jose.JSONWebKey{Key: key.Public(), KeyID: "e", Use: "enc"}
	base := VerifierConfig{Issuer: "https://idp.example", ClientID: "app", JWKS: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}}}
	tests := []struct {
		name   string
		change func(c *VerifierConfig)
		ok     bool
	}{
		{"valid", func(c *VerifierConfig) {}, true},
		{"no issuer", func(c *VerifierConfig) { c.Issuer = "" }, false},
		{"no client id", func(c *VerifierConfig) { c.ClientID = "" }, false},
		{"no keys", func(c *VerifierConfig) { c.JWKS.Keys = nil }, false},
		{"encryption key only", func(c *VerifierConfig) { c.JWKS.Keys = []jose.JSONWebKey{enc} }, false},
		{"HS256 allowed", func(c *VerifierConfig) { c.Algorithms = []jose.SignatureAlgorithm{jose.HS256} }, false},
		{"none allowed", func(c *VerifierConfig) { c.Algorithms = []jose.SignatureAlgorithm{"none"} }, false},
		{"negative leeway", func(c *VerifierConfig) { c.Leeway = -time.Second }, false},
		{"a private key, kept public", func(c *VerifierConfig) { c.JWKS.Keys = []jose.JSONWebKey{priv} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.change(&c)
			v, err := NewVerifier(c)
			if (err == nil) != tt.ok {
				t.Fatalf("NewVerifier: %v; want ok %v", err, tt.ok)
			}
			if v != nil {
				for _, k := range v.cfg.JWKS.Keys {
					if !k.IsPublic() {
						t.Errorf("the verifier keeps private key %q", k.KeyID)
					}
				}
			}
		})
	}

	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	good := `{"issuer":"https://idp.example","client_id":"app","jwks":` + string(jwks) + `,"algorithms":["ES256"],"leeway":30,"max_age":60}`
	vc, err := verifierConfig([]byte(good))
	if err != nil || vc.Leeway != 30*time.Second || vc.MaxAge != time.Minute || len(vc.JWKS.Keys) != 1 || vc.Algorithms[0] != jose.ES256 {
		t.Errorf("verifierConfig(%s) = %+v, %v", good, vc, err)
	}
	for _, bad := range []string{
		`{"issuer":"https://idp.example","client_id":"app"}`,
		`{"issuer":"https://idp.example","client_id":"app","jwks":{"keys":"no"}}`,
		`{"issuer":"https://idp.example","client_id":"app","jwks":` + string(jwks) + `,"clock_skew":30}`,
	} {
		if _, err := verifierConfig([]byte(bad)); err == nil {
			t.Errorf("verifierConfig(%s) accepted", bad)
		}
	}
}
