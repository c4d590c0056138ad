package adapter

import (
	"context"
	"net"
	"net/http"
	"strings"
)

// Exchange is one HTTP request and its response, as the session library
// needs them. It deals in raw strings only: the session library parses the
// Cookie header and formats every Set-Cookie line itself, so every framework
// sends identical bytes. Adapters implement it for their framework; this
// package implements it for net/http (HTTP).
type Exchange interface {
	// Context returns the request's context; store calls run under it, so a
	// cancelled request cancels them.
	Context() context.Context
	// Cookies returns the request's Cookie header; several Cookie header
	// lines are joined with "; ".
	Cookies() string
	// UserAgent returns the request's User-Agent header.
	UserAgent() string
	// RemoteAddr returns the client's IP address, without a port.
	RemoteAddr() string
	// Scheme returns the request's scheme, "http" or "https".
	Scheme() string

	// SetCookie adds a Set-Cookie line to the response for the cookie called
	// name, replacing (in place) a line added earlier for the same name.
	SetCookie(name, line string)
	// SetRequestHeader sets a request header, for handlers or upstreams that
	// run after the session middleware.
	SetRequestHeader(name, value string)
	// DelRequestHeader removes a request header.
	DelRequestHeader(name string)
	// SetResponseHeader sets a response header.
	SetResponseHeader(name, value string)
}

// ReplaceSetCookie returns lines with the Set-Cookie line of the cookie
// called name replaced by line, or line appended when there is none. It is
// the rule of Exchange.SetCookie, exported for adapters.
func ReplaceSetCookie(lines []string, name, line string) []string {
	for i, l := range lines {
		if len(l) > len(name) && l[len(name)] == '=' && l[:len(name)] == name {
			lines[i] = line
			return lines
		}
	}
	return append(lines, line)
}

// ClientIP returns the host part of a "host:port" remote address (as in
// http.Request.RemoteAddr), or addr itself when it has no port.
func ClientIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// HTTP is the Exchange of a net/http request and response. An adapter
// whose framework wraps net/http (gin, echo) may embed an HTTP value in
// the state it allocates per request rather than call NewHTTP.
type HTTP struct {
	W http.ResponseWriter // the response: Set-Cookie lines and response headers go to W.Header()
	R *http.Request       // the request: cookies, User-Agent, address, scheme, context
}

// NewHTTP returns the Exchange of w and r.
func NewHTTP(w http.ResponseWriter, r *http.Request) *HTTP {
	return &HTTP{W: w, R: r}
}

// Context returns r's context.
func (e *HTTP) Context() context.Context { return e.R.Context() }

// Cookies returns r's Cookie header lines joined with "; ".
func (e *HTTP) Cookies() string {
	v := e.R.Header["Cookie"]
	switch len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	}
	return strings.Join(v, "; ")
}

// UserAgent returns r's User-Agent header.
func (e *HTTP) UserAgent() string { return e.R.Header.Get("User-Agent") }

// RemoteAddr returns the IP of r.RemoteAddr.
func (e *HTTP) RemoteAddr() string { return ClientIP(e.R.RemoteAddr) }

// Scheme returns "https" for a TLS connection and "http" otherwise, like
// nginx's $scheme.
func (e *HTTP) Scheme() string {
	if e.R.TLS != nil {
		return "https"
	}
	return "http"
}

// SetCookie replaces or adds the Set-Cookie line of name in w's header.
func (e *HTTP) SetCookie(name, line string) {
	h := e.W.Header()
	h["Set-Cookie"] = ReplaceSetCookie(h["Set-Cookie"], name, line)
}

// SetRequestHeader sets a header of r.
func (e *HTTP) SetRequestHeader(name, value string) { e.R.Header.Set(name, value) }

// DelRequestHeader removes a header of r.
func (e *HTTP) DelRequestHeader(name string) { e.R.Header.Del(name) }

// SetResponseHeader sets a header of w.
func (e *HTTP) SetResponseHeader(name, value string) { e.W.Header().Set(name, value) }
