package session

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sessiongo/session/core/store"
)

// Disabled turns a timeout off when used as its value in Config (the
// reference's 0). A zero duration means "use the default" instead.
const Disabled time.Duration = -1

// Config mirrors the reference library's configuration table. Every zero
// value means the reference's default, but for one deliberate difference:
// cookies are Secure unless DisableSecure is set. Config{Secret: "..."} is a
// complete configuration. Durations are rounded down to whole seconds, as the wire
// format counts seconds, but never below one second; a negative duration
// (Disabled) turns a timeout off.
// Print DefaultConfig to see the effective defaults.
type Config struct {
	// Secret is hashed with SHA-256 into the 32-byte initial keying material.
	// A secret shorter than 16 bytes is accepted, so that a service can share
	// the secret of an existing OpenResty or Kong deployment, but New logs a
	// warning: anyone holding a cookie can guess a short secret offline.
	// Empty, with no IKM either, means a random key (see New).
	Secret string
	// SecretFallbacks are older secrets that still open cookies (key
	// rotation). New cookies always use Secret (or IKM), and Refresh moves a
	// session opened with a fallback to the current key. An empty string is
	// a configuration error (it would make SHA-256("") a valid key).
	//
	// They are not used when IKMFallbacks has any entry, whether the
	// primary key is Secret or IKM: as in the reference, the fallback keys
	// are IKMFallbacks when given and the hashed SecretFallbacks otherwise,
	// never both. New then logs a warning, and a cookie made with one of
	// these secrets does not open. To keep an old secret next to IKM
	// fallbacks, list its SHA-256 in IKMFallbacks.
	SecretFallbacks []string
	// IKM is the initial keying material given directly instead of Secret;
	// it must be exactly 32 bytes, not all zero. IKM wins over Secret when
	// both are set.
	IKM []byte
	// IKMFallbacks are older keys that still open cookies; 32 bytes each,
	// none all zero. When it has any entry, SecretFallbacks are not used
	// (see there).
	IKMFallbacks [][]byte

	// CookiePrefix is "" (none), PrefixHost ("__Host-") or PrefixSecure
	// ("__Secure-"). It is prepended to both cookie names and forces Secure
	// (and, for __Host-, Path=/ and no Domain).
	CookiePrefix Prefix
	// CookieName is the session cookie's name (default "session"). Chunks of
	// a large session are named CookieName2 ... CookieName9.
	CookieName string
	// CookiePath is the cookie's Path attribute (default "/").
	CookiePath string
	// CookieDomain is the cookie's Domain attribute; empty and "localhost"
	// omit it.
	CookieDomain string
	// DisableHTTPOnly removes the HttpOnly attribute (on by default).
	DisableHTTPOnly bool
	// DisableSecure removes the Secure attribute, which is on by default:
	// browsers then send the cookies over plain HTTP too, where anyone on
	// the path can read them. It is an opt-out for development on a
	// loopback address over plain HTTP, where a browser or a cookie jar
	// would not send Secure cookies back. CookiePrefix, SameSite=None and
	// SameParty force Secure even with DisableSecure. The reference's
	// cookie_secure defaults to false: a configuration ported from it that
	// relies on that default needs DisableSecure.
	DisableSecure bool
	// CookiePriority is "" (no attribute), PriorityLow, PriorityMedium or
	// PriorityHigh.
	CookiePriority Priority
	// CookieSameSite is SameSiteLax (the default), SameSiteStrict,
	// SameSiteNone or SameSiteDefault.
	CookieSameSite SameSite
	// CookieSameParty adds the SameParty attribute; it cannot be combined
	// with SameSite=Strict.
	CookieSameParty bool
	// CookiePartitioned adds the Partitioned attribute.
	CookiePartitioned bool

	// Remember enables persistent ("remember me") sessions: a second,
	// long-lived cookie that restores the session after the session cookie
	// is gone. Session.SetRemember changes it per session.
	Remember bool
	// RememberSafety is the key derivation cost of remember cookies:
	// SafetyNone (HKDF), SafetyLow, SafetyMedium (the default), SafetyHigh or
	// SafetyVeryHigh (PBKDF2 with 1e3 to 1e6 iterations).
	RememberSafety RememberSafety
	// RememberCookieName is the remember cookie's name (default "remember").
	RememberCookieName string

	// Audience names the application that owns an entry of the session
	// (default "default"). Several audiences can share one cookie. It must
	// be valid UTF-8, as must Subject.
	Audience string
	// Subject is the default subject of new sessions (usually a user id).
	Subject string
	// EnforceSameSubject drops, on save, the entries of other audiences
	// whose subject differs from the current one.
	EnforceSameSubject bool

	// StaleTTL is how long a server-side record stays readable after a save
	// replaced it (default 10s), so concurrent requests with the previous
	// cookie still work.
	StaleTTL time.Duration
	// IdlingTimeout is how long a session may stay unused (default 15m).
	IdlingTimeout time.Duration
	// RollingTimeout is how long a session may be used before it must be
	// renewed by a save (default 1h).
	RollingTimeout time.Duration
	// AbsoluteTimeout limits the whole life of a session (default 24h).
	AbsoluteTimeout time.Duration
	// RememberRollingTimeout is how long a remember cookie is valid between
	// renewals (default 7 days); it is also the cookie's Max-Age.
	RememberRollingTimeout time.Duration
	// RememberAbsoluteTimeout limits the whole life of a remember cookie
	// (default 30 days).
	RememberAbsoluteTimeout time.Duration

	// HashStorageKey stores server-side records under SHA-256 of the session
	// id, so the store alone cannot be used to decrypt them.
	HashStorageKey bool
	// HashSubject stores subjects in the subject index as a hash (PII).
	HashSubject bool
	// StoreMetadata keeps, in stores that support it, an index of the live
	// sessions of each audience and subject (see Manager.Sessions).
	StoreMetadata bool
	// MaxSessionsPerSubject caps the browser sessions of one subject in the
	// Manager's audience (0, the default: no cap). A login (the save of a
	// new session with a subject, one audience) beyond it ends the
	// subject's sessions that expire soonest, or, with RefuseOverLimit, is
	// refused with an error matching ErrSessionLimit. It needs a Store with
	// the subject index (StoreMetadata); atomic on a store that implements
	// store.SessionLimiter (Redis, SQL), best effort on the others. See
	// docs/devices.md.
	MaxSessionsPerSubject int
	// RefuseOverLimit refuses a login beyond MaxSessionsPerSubject instead
	// of ending the oldest session.
	RefuseOverLimit bool
	// TouchThreshold is how long a session must have been idle before
	// Refresh re-sends the cookie with a new idling offset (default 1m).
	TouchThreshold time.Duration
	// CompressionThreshold is the plaintext size in bytes above which the
	// data is deflated; negative disables compression. The default (0) is
	// 1024 with cookie storage, as in the reference, and no compression
	// with a Store: the cookie then holds no data, and deflating and
	// inflating would cost every request more time than the smaller record
	// saves; set a threshold to deflate store records too. Data larger than
	// 1.7 MiB is never compressed (a bound on inflating).
	CompressionThreshold int

	// Bind ties the session to properties of the client: BindIP,
	// BindScheme and BindUserAgent.
	Bind []Binding
	// RequestHeaders lists the properties that Session.SetHeaders sends
	// upstream, as request headers (PropertyID sends Session-Id...).
	RequestHeaders []Property
	// ResponseHeaders lists the properties that Session.SetHeaders sends to
	// the client, as response headers.
	ResponseHeaders []Property

	// Store keeps the encrypted data on the server; the cookie then holds
	// only the 110-character header. Nil means cookie storage.
	Store Store

	// Revocation is where cookie sessions are revoked (the reference's
	// revocation): a store that implements store.Revoker, such as a
	// MemoryStore, a FileStore, or a store of the stores/ modules, shared by
	// every instance of the application. Nil turns revocation off. It needs cookie storage (with a Store, deleting
	// the record already revokes: New refuses both). Destroy and Logout then
	// write a mark that rejects copies of the cookie, Manager.RevokeSessions
	// revokes a subject's sessions and Manager.Revoke an application's
	// revocation key; Open looks the session up, once per request. See
	// docs/revocation.md.
	Revocation store.Revoker
	// RevocationFailMode says what happens when Revocation fails:
	// FailClosed (the default) makes Open and Destroy fail with an error
	// matching ErrStore; FailOpen treats the session as not revoked and
	// logs a warning.
	RevocationFailMode FailMode
	// RevocationCacheTTL is how long this Manager keeps the answer of a
	// revocation lookup; 0 (the default) keeps none, so every Open asks
	// Revocation. A revocation made by another process is seen after at
	// most this long; one made by this Manager at once.
	RevocationCacheTTL time.Duration
	// RevocationCacheErrorTTL is how long this Manager keeps a failed
	// lookup, answering with RevocationFailMode without asking Revocation
	// again; 0 (the default) keeps none.
	RevocationCacheErrorTTL time.Duration
	// RevocationCacheSize bounds the number of cached lookups (default
	// DefaultRevocationCacheSize).
	RevocationCacheSize int

	// OpenCacheSize bounds, in bytes, the plaintexts of recently opened
	// and issued cookies that the Manager keeps in memory, so that the next
	// request with the same cookie skips decrypting and inflating it
	// (default DefaultOpenCacheSize); negative keeps none. A cookie hits
	// only when its header (verified first) and payload are byte for byte
	// those that made the plaintext; every check after decrypting still
	// runs. A header it holds byte for byte is not verified again, unless
	// it binds the cookie to the request (Bind): its MAC is what it was.
	// Turn it off where decrypted session data must not outlive the
	// request in memory.
	OpenCacheSize int

	// Clock returns the current time; nil means time.Now. Tests inject one.
	Clock func() time.Time
	// Rand is the source of session ids; nil means crypto/rand. Tests
	// inject one to reproduce cookies byte for byte; never in production:
	// session ids also select each cookie's key and nonce, so a predictable
	// or repeating source makes ids guessable and reuses AES-GCM nonces.
	Rand io.Reader
	// Logger receives warnings (for example a missing secret); nil means
	// slog.Default(). Messages about a request are logged with its context
	// (WarnContext...), so a request-scoped handler sees them.
	Logger *slog.Logger

	// Hooks are called at the moments of a session's life (created,
	// rotated, destroyed, rejected...) and around every store call: for
	// metrics, logs and traces. The zero value calls nothing. See Hooks,
	// and github.com/sessiongo/session/otel for OpenTelemetry.
	Hooks Hooks
}

// Default values of the reference library.
const (
	DefaultCookieName              = "session"
	DefaultCookiePath              = "/"
	DefaultCookieSameSite          = SameSiteLax
	DefaultRememberSafety          = SafetyMedium
	DefaultRememberCookieName      = "remember"
	DefaultAudience                = "default"
	DefaultStaleTTL                = 10 * time.Second
	DefaultIdlingTimeout           = 15 * time.Minute
	DefaultRollingTimeout          = time.Hour
	DefaultAbsoluteTimeout         = 24 * time.Hour
	DefaultRememberRollingTimeout  = 7 * 24 * time.Hour
	DefaultRememberAbsoluteTimeout = 30 * 24 * time.Hour
	DefaultTouchThreshold          = time.Minute
	DefaultCompressionThreshold    = 1024
	DefaultOpenCacheSize           = 4 << 20
)

// DefaultConfig returns the configuration that the zero Config stands for,
// with every default spelled out (and no key: New makes a random one).
func DefaultConfig() Config {
	return Config{
		CookieName:              DefaultCookieName,
		CookiePath:              DefaultCookiePath,
		CookieSameSite:          DefaultCookieSameSite,
		RememberSafety:          DefaultRememberSafety,
		RememberCookieName:      DefaultRememberCookieName,
		Audience:                DefaultAudience,
		StaleTTL:                DefaultStaleTTL,
		IdlingTimeout:           DefaultIdlingTimeout,
		RollingTimeout:          DefaultRollingTimeout,
		AbsoluteTimeout:         DefaultAbsoluteTimeout,
		RememberRollingTimeout:  DefaultRememberRollingTimeout,
		RememberAbsoluteTimeout: DefaultRememberAbsoluteTimeout,
		TouchThreshold:          DefaultTouchThreshold,
		CompressionThreshold:    DefaultCompressionThreshold,
		RevocationFailMode:      DefaultRevocationFailMode,
		RevocationCacheSize:     DefaultRevocationCacheSize,
		OpenCacheSize:           DefaultOpenCacheSize,
	}
}

// seconds converts a configured duration to the seconds the wire format
// counts: 0 means def, negative means disabled (0). A positive duration
// shorter than a second counts as one second, never as 0 (disabled).
func seconds(d, def time.Duration) int64 {
	switch {
	case d == 0:
		return int64(def / time.Second)
	case d < 0:
		return 0
	}
	return max(int64(d/time.Second), 1)
}

func orDefault[T ~string](s, def T) T {
	if s == "" {
		return def
	}
	return s
}

func configError(format string, args ...any) error {
	return wrapError(ErrInvalidConfig, "invalid session configuration", fmt.Errorf(format, args...))
}

// Bind flags of the header.
const (
	flagStorage       uint16 = 0x0001
	flagForget        uint16 = 0x0002
	flagDeflate       uint16 = 0x0010
	flagBindIP        uint16 = 0x0100
	flagBindScheme    uint16 = 0x0200
	flagBindUserAgent uint16 = 0x0400
)

var bindFlags = map[Binding]uint16{
	BindIP:        flagBindIP,
	BindScheme:    flagBindScheme,
	BindUserAgent: flagBindUserAgent,
	"user_agent":  flagBindUserAgent,
}

// pbkdf2 iterations per remember_safety level; 0 means HKDF.
var rememberSafety = map[RememberSafety]int{
	SafetyNone:     0,
	SafetyLow:      1000,
	SafetyMedium:   10000,
	SafetyHigh:     100000,
	SafetyVeryHigh: 1000000,
}

// validCookieName reports whether s is an RFC 6265 token.
func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// validAttrValue reports whether s can stand in a Set-Cookie attribute.
func validAttrValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == ';' || c >= 0x7f {
			return false
		}
	}
	return true
}

// cookieNamesCollide reports whether a request cookie called b could be read
// as cookie a or one of its chunks a2 .. a9: request cookie names compare
// case-insensitively (see cookieChunk).
func cookieNamesCollide(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	return len(b) == len(a)+1 && strings.EqualFold(b[:len(a)], a) && b[len(a)] >= '2' && b[len(a)] <= '9'
}
