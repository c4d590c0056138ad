package session

// The enumerations of Config and of the header setters. Each is a string
// type holding the reference library's own spelling, so that untyped string
// constants ("Strict", []Binding{"ip"}) and ParseConfig's option values
// keep working, and New rejects a value that is none of the constants with
// an error matching ErrInvalidConfig.

// SameSite is the SameSite attribute of both cookies (Config.CookieSameSite).
type SameSite string

// The SameSite values. The zero value means SameSiteLax.
const (
	// SameSiteLax sends the cookies with top-level navigations from other
	// sites, not with their subrequests. It is the default.
	SameSiteLax SameSite = "Lax"
	// SameSiteStrict sends the cookies only with requests from the same site.
	SameSiteStrict SameSite = "Strict"
	// SameSiteNone sends the cookies with every request; it forces Secure.
	SameSiteNone SameSite = "None"
	// SameSiteDefault writes "SameSite=Default", as the reference does; a
	// browser that does not know the value applies its own default.
	SameSiteDefault SameSite = "Default"
)

// Priority is the Priority attribute of both cookies (Config.CookiePriority),
// a hint to the browsers that evict cookies by priority.
type Priority string

// The Priority values. The zero value omits the attribute.
const (
	PriorityLow    Priority = "Low"    // evicted first
	PriorityMedium Priority = "Medium" // the browsers' default
	PriorityHigh   Priority = "High"   // evicted last
)

// Prefix is a cookie name prefix (Config.CookiePrefix), prepended to both
// cookie names; the browser then enforces what the prefix promises.
type Prefix string

// The Prefix values. The zero value adds no prefix.
const (
	// PrefixHost names the cookies __Host-session and __Host-remember and
	// forces Secure, Path=/ and no Domain: a sibling subdomain or plain
	// HTTP cannot set them. The safest choice in production.
	PrefixHost Prefix = "__Host-"
	// PrefixSecure names the cookies __Secure-session and __Secure-remember
	// and forces Secure.
	PrefixSecure Prefix = "__Secure-"
)

// RememberSafety is the key derivation cost of remember cookies
// (Config.RememberSafety): the work an attacker holding a remember cookie
// must do per guess of the secret, and the server per restore.
type RememberSafety string

// The RememberSafety values. The zero value means SafetyMedium.
const (
	SafetyNone     RememberSafety = "None"      // HKDF only, as for session cookies
	SafetyLow      RememberSafety = "Low"       // PBKDF2, 1,000 iterations
	SafetyMedium   RememberSafety = "Medium"    // PBKDF2, 10,000 iterations; the default
	SafetyHigh     RememberSafety = "High"      // PBKDF2, 100,000 iterations
	SafetyVeryHigh RememberSafety = "Very High" // PBKDF2, 1,000,000 iterations
)

// Binding is a property of the client that a session can be tied to
// (Config.Bind): a cookie replayed from a client whose property differs
// fails authentication (ErrInvalid).
type Binding string

// The Binding values. "user_agent" is accepted for BindUserAgent too.
const (
	BindIP        Binding = "ip"         // the client's IP address, without the port
	BindScheme    Binding = "scheme"     // the request's scheme, http or https
	BindUserAgent Binding = "user-agent" // the User-Agent header
)

// Property is a property of an open session (the reference's
// get_property), as Session.Property returns it and the header setters send
// it (Config.RequestHeaders, Config.ResponseHeaders, Session.SetHeaders).
// Timeouts are the seconds left, as of when the session was opened or
// saved. The timeout names are accepted with "_" for "-" too.
type Property string

// The Property values, and the headers that carry them.
const (
	PropertyID              Property = "id"               // Session-Id: the session id, 43 base64url characters
	PropertyAudience        Property = "audience"         // Session-Audience: the current audience
	PropertySubject         Property = "subject"          // Session-Subject: the current subject, absent when unset
	PropertyTimeout         Property = "timeout"          // Session-Timeout: the smallest of the three timeouts
	PropertyIdlingTimeout   Property = "idling-timeout"   // Session-Idling-Timeout
	PropertyRollingTimeout  Property = "rolling-timeout"  // Session-Rolling-Timeout
	PropertyAbsoluteTimeout Property = "absolute-timeout" // Session-Absolute-Timeout
)
