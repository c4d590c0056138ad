package session

import (
	"strconv"
	"strings"
	"time"
)

// Request cookies are read the way nginx's $cookie_NAME reads them, since the
// reference runs behind it: pairs are separated by ';' or ',', blanks around
// names and values are ignored, names compare case-insensitively (ASCII) and
// the first match wins. Open (readCookies) and ClearRequestCookie
// (stripCookies) share this one tokenizer (cookieScanner) and this one name
// rule (cookieChunk), so a proxy removes exactly the cookies that opened the
// session.

// maxCookieHeader bounds the bytes of a Cookie header that Open reads, so
// that a hostile header costs no more than a large genuine one: a session and
// a remember cookie of nine 4096-byte chunks each (73728 bytes) and 56 KiB of
// other cookies. Cookies past the bound are not seen (a pair cut by it is
// dropped whole); browsers send far less (about 4 KiB per cookie, a few
// dozen cookies per site).
const maxCookieHeader = 128 << 10

// cookieScanner splits a Cookie header into its pairs, first to last. It
// finds separators with strings.IndexByte and remembers where the next ';'
// and the next ',' are, so that it reads each byte of the header about
// once whichever separators the header uses.
type cookieScanner struct {
	header      string
	pos         int // where the rest starts
	semi, comma int // the next ';' and ',' at or after pos, len(header) for none; -1 before the first look
}

func newCookieScanner(header string) cookieScanner {
	return cookieScanner{header: header, semi: -1, comma: -1}
}

// more reports whether the rest of the header is not empty.
func (c *cookieScanner) more() bool { return c.pos < len(c.header) }

// rest returns what follows the last pair and its separator.
func (c *cookieScanner) rest() string { return c.header[c.pos:] }

// next splits the next pair off the rest of the header. name and value are
// trimmed of blanks; a token without '=' (not a cookie) has hasValue false
// and its trimmed text as name. sep is the ';' or ',' that ended the pair
// (0 at the end of the header).
func (c *cookieScanner) next() (name, value string, hasValue bool, sep byte) {
	if c.semi < c.pos {
		c.semi = indexFrom(c.header, c.pos, ';')
	}
	if c.comma < c.pos {
		c.comma = indexFrom(c.header, c.pos, ',')
	}
	end := min(c.semi, c.comma)
	pair := c.header[c.pos:end]
	c.pos = end
	if end < len(c.header) {
		sep = c.header[end]
		c.pos++
	}
	eq := strings.IndexByte(pair, '=')
	if eq < 0 {
		return trimBlank(pair), "", false, sep
	}
	return trimBlank(pair[:eq]), trimBlank(pair[eq+1:]), true, sep
}

// indexFrom returns the index of the first b in s at or after from, or
// len(s).
func indexFrom(s string, from int, b byte) int {
	if i := strings.IndexByte(s[from:], b); i >= 0 {
		return from + i
	}
	return len(s)
}

// cookieChunk reports which chunk of the cookie called name a request cookie
// called c is: 1 for name itself, 2 to 9 for name2 .. name9, 0 for another
// cookie. Names compare case-insensitively in ASCII, as nginx's do.
func cookieChunk(c, name string) int {
	switch {
	case len(c) == len(name) && equalFoldASCII(c, name):
		return 1
	case len(c) == len(name)+1 && c[len(name)] >= '2' && c[len(name)] <= '9' && equalFoldASCII(c[:len(name)], name):
		return int(c[len(name)] - '0')
	}
	return 0
}

// equalFoldASCII reports whether a and b, of equal length, are equal under
// ASCII case folding.
func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || x|0x20 < 'a' || x|0x20 > 'z' {
			return false
		}
	}
	return true
}

// requestJar holds the session and remember cookies (and their chunks) of a
// request, read from its Cookie header in one pass.
type requestJar struct {
	values [2][maxCookies]string // [0] the session cookie, [1] the remember cookie; [i] is chunk i+1
	found  [2]uint16             // bit i: chunk i+1 was found
}

// readCookies reads the cookies called names[0] and names[1], and their
// chunks, from the first maxCookieHeader bytes of a Cookie header.
func readCookies(header string, names [2]string) requestJar {
	if len(header) > maxCookieHeader {
		// Drop the pair the bound cuts: a truncated value is not the value.
		header = header[:maxCookieHeader]
		if i := strings.LastIndexAny(header, ";,"); i >= 0 {
			header = header[:i]
		} else {
			header = ""
		}
	}
	var j requestJar
	for sc := newCookieScanner(header); sc.more(); {
		name, value, hasValue, _ := sc.next()
		if !hasValue {
			continue
		}
		for k := range names {
			if c := cookieChunk(name, names[k]); c > 0 && j.found[k]&(1<<(c-1)) == 0 {
				j.values[k][c-1] = value
				j.found[k] |= 1 << (c - 1)
			}
		}
	}
	return j
}

// get returns chunk (1 to 9) of the session (k = 0) or remember (k = 1)
// cookie.
func (j *requestJar) get(k, chunk int) (string, bool) {
	return j.values[k][chunk-1], j.found[k]&(1<<(chunk-1)) != 0
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
// name<chunks>, from a Cookie header: every pair that Open could read as one
// of them (cookieScanner, cookieChunk), wherever it is in the header. The other
// pairs are written back the way the reference writes them: trimmed, each
// followed by its separator and a blank, but a value-less token by its
// separator alone ("a=1; flag;b=2"), and nothing after the input's last
// pair. An empty result means no cookie is left.
func stripCookies(header, name string, chunks int) string {
	var b strings.Builder
	b.Grow(len(header))
	for sc := newCookieScanner(header); sc.more(); {
		cname, value, hasValue, sep := sc.next()
		rest := sc.rest()
		switch {
		case hasValue:
			if c := cookieChunk(cname, name); c >= 1 && c <= chunks {
				continue
			}
			b.WriteString(cname)
			b.WriteByte('=')
			b.WriteString(value)
			if rest != "" {
				b.WriteByte(sep)
				b.WriteByte(' ')
			}
		case cname != "":
			b.WriteString(cname)
			if rest != "" {
				b.WriteByte(sep)
			}
		}
	}
	return b.String()
}
