package session

import (
	"strconv"
	"strings"
	"time"
)

// Request cookies are read the way nginx's $cookie_NAME reads them, since the
// reference runs behind it: pairs are separated by ';' or ',', blanks around
// names and values are ignored, names compare case-insensitively and the
// first match wins.

// cookieValue returns the value of the first cookie called name in a Cookie
// header.
func cookieValue(header, name string) (string, bool) {
	for len(header) > 0 {
		end := strings.IndexAny(header, ";,")
		var pair string
		if end < 0 {
			pair, header = header, ""
		} else {
			pair, header = header[:end], header[end+1:]
		}
		eq := strings.IndexByte(pair, '=')
		if eq < 0 {
			continue
		}
		if strings.EqualFold(trimBlank(pair[:eq]), name) {
			return trimBlank(pair[eq+1:]), true
		}
	}
	return "", false
}

func isBlank(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func trimBlank(s string) string {
	for len(s) > 0 && isBlank(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isBlank(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// chunkName returns the name of chunk i (1-based) of cookie name.
func chunkName(name string, i int) string {
	if i == 1 {
		return name
	}
	return name + strconv.Itoa(i)
}

const expiredAttrs = "; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0"

// cookieAttrs formats the attributes shared by every Set-Cookie line, in the
// reference's order: Domain, Path, SameSite, Priority, SameParty,
// Partitioned, Secure, HttpOnly.
func cookieAttrs(domain, path, sameSite, priority string, sameParty, partitioned, secure, httpOnly bool) string {
	var b strings.Builder
	if domain != "" && domain != "localhost" {
		b.WriteString("; Domain=")
		b.WriteString(domain)
	}
	b.WriteString("; Path=")
	b.WriteString(path)
	b.WriteString("; SameSite=")
	b.WriteString(sameSite)
	if priority != "" {
		b.WriteString("; Priority=")
		b.WriteString(priority)
	}
	if sameParty {
		b.WriteString("; SameParty")
	}
	if partitioned {
		b.WriteString("; Partitioned")
	}
	if secure {
		b.WriteString("; Secure")
	}
	if httpOnly {
		b.WriteString("; HttpOnly")
	}
	return b.String()
}

// rememberAttrs returns the Expires and Max-Age attributes of a remember
// cookie created at creation.
func rememberAttrs(creation, maxAge int64) string {
	expires := time.Unix(creation+maxAge, 0).UTC().Format(httpTimeFormat)
	return "; Expires=" + expires + "; Max-Age=" + strconv.FormatInt(maxAge, 10)
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// cookieLine builds "name=value<attrs><extra>".
func cookieLine(name string, attrs, extra string, value ...string) string {
	n := len(name) + 1 + len(attrs) + len(extra)
	for _, v := range value {
		n += len(v)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(name)
	b.WriteByte('=')
	for _, v := range value {
		b.WriteString(v)
	}
	b.WriteString(attrs)
	b.WriteString(extra)
	return b.String()
}

// stripCookies removes the cookie called name, and its chunks name2 ..
// name<chunks>, from a Cookie header. It keeps the reference's output byte
// for byte, including its quirk of writing no blank after a value-less
// cookie ("a=1; flag;b=2"). An empty result means no cookie is left.
func stripCookies(cookies, name string, chunks int) string {
	var b strings.Builder
	b.Grow(len(cookies))
	size := len(cookies)
	var current string
	named := false
	skip := false
	start := 0
	for i := 0; i < size; i++ {
		c := cookies[i]
		last := i == size-1
		if named {
			if c == ';' || last {
				if !skip {
					var value string
					if c == ';' {
						value = trimBlank(cookies[start:i])
					} else {
						value = trimBlank(cookies[start:])
					}
					b.WriteString(value)
					if !last {
						b.WriteString("; ")
					}
				}
				if last {
					break
				}
				named, start, skip = false, i+1, false
			}
			continue
		}
		switch {
		case c == '=' || c == ';':
			current, named = cookies[start:i], true
		case last:
			current, named = cookies[start:], true
		}
		if !named {
			continue
		}
		current = trimBlank(current)
		if c == ';' || last {
			if current != "" {
				b.WriteString(current)
				if !last {
					b.WriteByte(';')
				}
			} else if last {
				break
			}
			named = false
		} else {
			skip = isSessionCookie(current, name, chunks)
			if !skip {
				b.WriteString(current)
				b.WriteByte('=')
			}
		}
		start = i + 1
	}
	return b.String()
}

func isSessionCookie(cookie, name string, chunks int) bool {
	if cookie == name {
		return true
	}
	if chunks > 1 && len(cookie) == len(name)+1 && cookie[:len(name)] == name {
		d := int(cookie[len(name)] - '0')
		return d > 1 && d <= chunks
	}
	return false
}
