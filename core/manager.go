package session

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/sessiongo/session/core/adapter"
)

// Manager holds a validated configuration and everything that can be
// computed from it once: the keys (with their HKDF-Extract step), the cookie
// names and the Set-Cookie attributes. It is immutable after New and safe
// for concurrent use; create one per application and a Session per request.
type Manager struct {
	keys         []*keyMaterial // primary first, then the fallbacks
	rememberKeys *keyCache      // shared by keys

	cookieName   string
	rememberName string
	attrs        string // "; Path=/; SameSite=Lax; HttpOnly"

	remember           bool
	rememberIterations int
	rememberSafety     RememberSafety
	audience           string
	subject            string
	hasSubject         bool
	enforceSameSubject bool

	staleTTL, idling, rolling, absolute int64 // seconds; 0 = disabled
	rememberRolling, rememberAbsolute   int64
	touchThreshold                      int64
	compressionThreshold                int // 0 = disabled
	openCache                           *openCache

	hashStorageKey bool
	hashSubject    bool
	storeMetadata  bool
	limit          int  // Config.MaxSessionsPerSubject (limit.go)
	limitRefuse    bool // Config.RefuseOverLimit

	bindFlags       uint16
	requestHeaders  []Property
	responseHeaders []Property

	store  Store
	rev    revocation // Config.Revocation and its cache
	clock  func() time.Time
	rand   io.Reader
	logger *slog.Logger

	hooks     Hooks
	storeType string // Go type of store and of rev.backend, for StoreCall
	revType   string
}

// New validates cfg, fills in the defaults and returns a Manager. Errors
// match ErrInvalidConfig. Without Secret or IKM a random key is made and a
// warning is logged: sessions then do not survive a restart and do not work
// across processes.
func New(cfg Config) (*Manager, error) {
	m := &Manager{
		remember:           cfg.Remember,
		audience:           orDefault(cfg.Audience, DefaultAudience),
		subject:            cfg.Subject,
		hasSubject:         cfg.Subject != "",
		enforceSameSubject: cfg.EnforceSameSubject,
		staleTTL:           seconds(cfg.StaleTTL, DefaultStaleTTL),
		idling:             seconds(cfg.IdlingTimeout, DefaultIdlingTimeout),
		rolling:            seconds(cfg.RollingTimeout, DefaultRollingTimeout),
		absolute:           seconds(cfg.AbsoluteTimeout, DefaultAbsoluteTimeout),
		rememberRolling:    seconds(cfg.RememberRollingTimeout, DefaultRememberRollingTimeout),
		rememberAbsolute:   seconds(cfg.RememberAbsoluteTimeout, DefaultRememberAbsoluteTimeout),
		touchThreshold:     seconds(cfg.TouchThreshold, DefaultTouchThreshold),
		hashStorageKey:     cfg.HashStorageKey,
		hashSubject:        cfg.HashSubject,
		storeMetadata:      cfg.StoreMetadata,
		store:              cfg.Store,
		clock:              cfg.Clock,
		rand:               cfg.Rand,
		logger:             cfg.Logger,
		hooks:              cfg.Hooks,
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	switch {
	case cfg.OpenCacheSize == 0:
		m.openCache = newOpenCache(DefaultOpenCacheSize)
	case cfg.OpenCacheSize > 0:
		m.openCache = newOpenCache(cfg.OpenCacheSize)
	}
	switch {
	case cfg.CompressionThreshold == 0 && cfg.Store == nil:
		m.compressionThreshold = DefaultCompressionThreshold
	case cfg.CompressionThreshold > 0:
		m.compressionThreshold = cfg.CompressionThreshold
	}

	// Audiences and subjects travel as JSON strings: invalid UTF-8 would come
	// back as U+FFFD, another audience or subject.
	if !utf8.ValidString(cfg.Audience) || !utf8.ValidString(cfg.Subject) {
		return nil, configError("audience %q or subject %q is not valid UTF-8", cfg.Audience, cfg.Subject)
	}
	if err := m.setKeys(&cfg); err != nil {
		return nil, err
	}
	if err := m.setCookies(&cfg); err != nil {
		return nil, err
	}
	if err := m.setRevocation(&cfg); err != nil {
		return nil, err
	}
	if err := m.setLimit(&cfg); err != nil {
		return nil, err
	}
	if m.hooks.OnStoreCall != nil || m.hooks.OnStoreError != nil {
		m.storeType, m.revType = typeName(cfg.Store), typeName(cfg.Revocation)
	}

	m.rememberSafety = orDefault(cfg.RememberSafety, DefaultRememberSafety)
	it, ok := rememberSafety[m.rememberSafety]
	if !ok {
		return nil, configError("unknown remember_safety %q (want None, Low, Medium, High or Very High)", cfg.RememberSafety)
	}
	m.rememberIterations = it

	for _, b := range cfg.Bind {
		f, ok := bindFlags[b]
		if !ok {
			return nil, configError("unknown bind %q (want ip, scheme or user-agent)", b)
		}
		m.bindFlags |= f
	}
	for _, list := range []struct {
		dst  *[]Property
		src  []Property
		name string
	}{{&m.requestHeaders, cfg.RequestHeaders, "request_headers"}, {&m.responseHeaders, cfg.ResponseHeaders, "response_headers"}} {
		for _, h := range list.src {
			if _, ok := propertyHeaders[h]; !ok {
				return nil, configError("unknown %s name %q", list.name, h)
			}
		}
		*list.dst = append([]Property(nil), list.src...)
	}
	return m, nil
}

// minSecretSize is the length below which a secret is logged as weak: its
// SHA-256 is the key, so a short secret can be guessed offline from any
// cookie.
const minSecretSize = 16

func (m *Manager) setKeys(cfg *Config) error {
	var primary []byte
	switch {
	case cfg.IKM != nil:
		if err := checkIKM(cfg.IKM, "ikm"); err != nil {
			return err
		}
		primary = cfg.IKM
	case cfg.Secret != "":
		m.checkSecretStrength(cfg.Secret, "secret")
		sum := sha256.Sum256([]byte(cfg.Secret))
		primary = sum[:]
	default:
		var ikm [ikmSize]byte
		if _, err := io.ReadFull(rand.Reader, ikm[:]); err != nil {
			return configError("unable to generate a random key: %w", err)
		}
		primary = ikm[:]
		m.logger.Warn("session: no Secret or IKM configured; using a random key, so sessions will not survive a restart or work across processes")
	}
	m.keys = append(m.keys, newKeyMaterial(primary))
	for i, ikm := range cfg.IKMFallbacks {
		if err := checkIKM(ikm, fmt.Sprintf("ikm_fallbacks[%d]", i)); err != nil {
			return err
		}
		m.keys = append(m.keys, newKeyMaterial(ikm))
	}
	// As in the reference, the secret fallbacks are only a way to give the
	// fallback keys: with IKM fallbacks they are not keys at all (whether
	// the primary key is Secret or IKM), and so they are not checked.
	secretFallbacks := cfg.SecretFallbacks
	if len(cfg.IKMFallbacks) > 0 && len(secretFallbacks) > 0 {
		m.logger.Warn("session: SecretFallbacks are ignored because IKMFallbacks are set, as in lua-resty-session; cookies made with a fallback secret do not open")
		secretFallbacks = nil
	}
	for i, s := range secretFallbacks {
		// An empty fallback (typically an unset environment variable) would
		// make SHA-256("") a valid key: anyone could mint sessions.
		if s == "" {
			return configError("empty secret in secret_fallbacks[%d]: anyone could forge sessions with it", i)
		}
		m.checkSecretStrength(s, fmt.Sprintf("secret_fallbacks[%d]", i))
		sum := sha256.Sum256([]byte(s))
		m.keys = append(m.keys, newKeyMaterial(sum[:]))
	}
	m.rememberKeys = newKeyCache(rememberKeyCacheSize)
	for _, k := range m.keys {
		k.remember = m.rememberKeys
	}
	return nil
}

// checkIKM rejects keying material that is not 32 bytes, or that is all
// zeros (an unset key, which anyone can use).
func checkIKM(ikm []byte, name string) error {
	if len(ikm) != ikmSize {
		return configError("invalid %s size: %d bytes, want %d", name, len(ikm), ikmSize)
	}
	var zero [ikmSize]byte
	if subtle.ConstantTimeCompare(ikm, zero[:]) == 1 {
		return configError("%s is all zeros: anyone could forge sessions with it", name)
	}
	return nil
}

// checkSecretStrength logs a warning for a secret shorter than
// minSecretSize. It is not an error: a Go service must accept the secret
// that an existing OpenResty or Kong deployment already uses.
func (m *Manager) checkSecretStrength(secret, name string) {
	if len(secret) < minSecretSize {
		m.logger.Warn("session: weak "+name+": shorter than 16 bytes, so sessions can be forged by guessing it; use a long random secret (sessionctl keygen)",
			"option", name, "bytes", len(secret))
	}
}

func (m *Manager) setCookies(cfg *Config) error {
	name := orDefault(cfg.CookieName, DefaultCookieName)
	remember := orDefault(cfg.RememberCookieName, DefaultRememberCookieName)
	path := orDefault(cfg.CookiePath, DefaultCookiePath)
	domain := cfg.CookieDomain
	sameSite := orDefault(cfg.CookieSameSite, DefaultCookieSameSite)
	secure := !cfg.DisableSecure

	switch sameSite {
	case SameSiteLax, SameSiteStrict, SameSiteNone, SameSiteDefault:
	default:
		return configError("unknown cookie_same_site %q (want Lax, Strict, None or Default)", sameSite)
	}
	switch cfg.CookiePriority {
	case "", PriorityLow, PriorityMedium, PriorityHigh:
	default:
		return configError("unknown cookie_priority %q (want Low, Medium or High)", cfg.CookiePriority)
	}
	prefix := string(cfg.CookiePrefix)
	switch cfg.CookiePrefix {
	case PrefixHost:
		name, remember = prefix+name, prefix+remember
		path, domain, secure = "/", "", true
	case PrefixSecure:
		name, remember = prefix+name, prefix+remember
		secure = true
	case "":
		if sameSite == SameSiteNone {
			secure = true
		}
	default:
		return configError("unknown cookie_prefix %q (want __Host- or __Secure-)", cfg.CookiePrefix)
	}
	if cfg.CookieSameParty {
		if sameSite == SameSiteStrict {
			return configError("SameParty session cookies cannot use SameSite=Strict")
		}
		secure = true
	}
	// A chunk name adds one digit, and chunks must not collide with the
	// other cookie.
	if !validCookieName(name) || !validCookieName(remember) {
		return configError("invalid cookie name %q or %q", name, remember)
	}
	if cookieNamesCollide(name, remember) || cookieNamesCollide(remember, name) {
		return configError("cookie_name %q and remember_cookie_name %q collide (names compare case-insensitively, chunks add a digit 2 to 9)", name, remember)
	}
	if !validAttrValue(path) || !validAttrValue(domain) {
		return configError("invalid cookie_path %q or cookie_domain %q", path, domain)
	}
	m.cookieName, m.rememberName = name, remember
	m.attrs = cookieAttrs(domain, path, string(sameSite), string(cfg.CookiePriority), cfg.CookieSameParty, cfg.CookiePartitioned, secure, !cfg.DisableHTTPOnly)
	return nil
}

// CookieName returns the session cookie's name, with its prefix.
func (m *Manager) CookieName() string { return m.cookieName }

// RememberCookieName returns the remember cookie's name, with its prefix.
func (m *Manager) RememberCookieName() string { return m.rememberName }

// Store returns the configured store, nil for cookie storage.
func (m *Manager) Store() Store { return m.store }

func (m *Manager) now() int64 { return m.clock().Unix() }

// NewSession returns a new, empty session bound to one exchange (the
// reference's session.new): adapter.NewHTTP(w, r) for net/http, or a
// framework adapter's. Call Open or Start on it to read the request's
// cookie. Sessions are not safe for concurrent use.
func (m *Manager) NewSession(ex adapter.Exchange) *Session {
	s := &Session{}
	m.initSession(s, ex)
	return s
}

// initSession makes the zero Session s a new session of ex. Its entry's
// data map is made when something writes to it or asks for it (own): an
// open usually replaces the entry.
func (m *Manager) initSession(s *Session, ex adapter.Exchange) {
	s.m, s.ex, s.remember, s.flags = m, ex, m.remember, m.bindFlags
	s.entries = s.inline[:1]
	s.entries[0] = entry{audience: m.audience, subject: m.subject, hasSubject: m.hasSubject}
}

// Open opens the session of a net/http request, restoring it from the
// remember cookie when needed. The session is never nil and always usable:
// when the request has no usable session (no cookie, an expired one, one
// that fails authentication), it is new and empty, s.Exists() is false and
// err is nil; save it to start one. err is non-nil only for what the
// caller must handle, a store failure (ErrStore) above all, and the
// session is then new and empty too. Session.Open says why a cookie was
// not usable.
func (m *Manager) Open(w http.ResponseWriter, r *http.Request) (*Session, error) {
	s := m.NewSession(adapter.NewHTTP(w, r))
	return s, openError(s.Open())
}

// Start opens the session of a net/http request, as Open does, and
// refreshes it as needed (a touch, or a save as its timeouts near): the
// usual call at the start of a request. As with Open, err is nil when the
// request has no usable session (s.Exists() is false); it reports a store
// failure (ErrStore) while opening the session or refreshing it (the
// session then exists).
func (m *Manager) Start(w http.ResponseWriter, r *http.Request) (*Session, error) {
	s := m.NewSession(adapter.NewHTTP(w, r))
	return s, openError(s.Start())
}

// Logout opens the session of a net/http request and logs it out of the
// configured audience (see Session.Logout). A request without a usable
// session has nothing to log out: the error is nil.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request) error {
	s := m.NewSession(adapter.NewHTTP(w, r))
	if err := s.Open(); err != nil {
		return openError(err)
	}
	return s.Logout()
}

// Destroy opens the session of a net/http request and destroys it, with its
// cookies and its store record (see Session.Destroy). A request without a
// usable session has nothing to destroy: the error is nil.
func (m *Manager) Destroy(w http.ResponseWriter, r *http.Request) error {
	s := m.NewSession(adapter.NewHTTP(w, r))
	if err := s.Open(); err != nil {
		return openError(err)
	}
	return s.Destroy()
}

// openError returns err, from opening or starting a session, unless it
// only means that the request has no usable session: it matches
// ErrNotFound, ErrExpired or ErrInvalid, and not ErrStore (an outage is
// never hidden). The request then goes on with the session (new and empty
// when it did not open), and openError returns nil. Manager.Open,
// Manager.Start and the middleware share the rule.
func openError(err error) error {
	if err == nil || errors.Is(err, ErrStore) {
		return err
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrExpired) || errors.Is(err, ErrInvalid) {
		return nil
	}
	return err
}
