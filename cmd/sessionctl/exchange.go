package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
	"github.com/sessiongo/session/core/store"
)

// exchange is the adapter.Exchange of one simulated request: the cookie
// and the request properties come from the command line, and the
// Set-Cookie lines the session library writes are collected.
type exchange struct {
	ctx                                    context.Context
	cookies, userAgent, remoteAddr, scheme string
	setCookies                             []string
}

func (x *exchange) Context() context.Context { return x.ctx }
func (x *exchange) Cookies() string          { return x.cookies }
func (x *exchange) UserAgent() string        { return x.userAgent }
func (x *exchange) RemoteAddr() string       { return x.remoteAddr }
func (x *exchange) Scheme() string           { return x.scheme }
func (x *exchange) SetCookie(name, line string) {
	x.setCookies = adapter.ReplaceSetCookie(x.setCookies, name, line)
}
func (x *exchange) SetRequestHeader(string, string)  {}
func (x *exchange) DelRequestHeader(string)          {}
func (x *exchange) SetResponseHeader(string, string) {}

// requestFlags are the properties of the simulated request.
type requestFlags struct {
	now        string
	remoteAddr string
	scheme     string
	userAgent  string
	timeout    time.Duration
}

func addRequestFlags(fs *flag.FlagSet) *requestFlags {
	r := &requestFlags{}
	fs.StringVar(&r.now, "now", "", "the time to act at: unix seconds or RFC 3339 (default: the current time)")
	fs.StringVar(&r.remoteAddr, "remote-addr", "", "client IP address, for bind ip")
	fs.StringVar(&r.scheme, "scheme", "", "request scheme (http or https), for bind scheme")
	fs.StringVar(&r.userAgent, "user-agent", "", "User-Agent header, for bind user-agent")
	fs.DurationVar(&r.timeout, "timeout", 10*time.Second, "time limit for store operations")
	return r
}

// clock returns the clock of --now.
func (r *requestFlags) clock() (func() time.Time, int64, error) {
	if r.now == "" {
		now := time.Now()
		return func() time.Time { return now }, now.Unix(), nil
	}
	var t time.Time
	if n, err := strconv.ParseInt(r.now, 10, 64); err == nil {
		t = time.Unix(n, 0)
	} else if t, err = time.Parse(time.RFC3339, r.now); err != nil {
		return nil, 0, usagef("--now %q: want unix seconds or an RFC 3339 time", r.now)
	}
	return func() time.Time { return t }, t.Unix(), nil
}

// maxCookieInput bounds what is read from stdin: nine 4 KiB chunks of two
// cookies, with room to spare.
const maxCookieInput = 1 << 20

// readCookies turns the cookie arguments (or stdin, when there are none or
// the only one is "-") into one Cookie header. Each argument or line may be
// a Cookie header ("Cookie: a=1; b=2"), name=value pairs, Set-Cookie lines
// (as "sessionctl new" prints them; deleted cookies are skipped), or a bare
// cookie value, taken as the value of the session cookie bare. No input at
// all is a usage error; an empty "Cookie:" header is a request without
// cookies.
func readCookies(e *env, args []string, bare string) (string, error) {
	if len(args) == 0 || len(args) == 1 && args[0] == "-" {
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxCookieInput+1))
		if err != nil {
			return "", fmt.Errorf("read stdin: %w", err)
		}
		if len(b) > maxCookieInput {
			return "", usagef("more than %d bytes of cookies on stdin", maxCookieInput)
		}
		args = []string{string(b)}
	}
	var parts []string
	given := false // an empty "Cookie:" header counts: a request without cookies
	for _, a := range args {
		sc := bufio.NewScanner(strings.NewReader(a))
		sc.Buffer(make([]byte, 0, 64*1024), maxCookieInput)
		for sc.Scan() {
			p, ok := cookieLine(sc.Text(), bare)
			given = given || ok
			if p != "" {
				parts = append(parts, p)
			}
		}
		if err := sc.Err(); err != nil {
			return "", usagef("cookie input: %v", err)
		}
	}
	if !given {
		return "", usagef("no cookie given: pass a Cookie header, name=value pairs or Set-Cookie lines as arguments or on stdin")
	}
	return strings.Join(parts, "; "), nil
}

// cookieLine returns the name=value pairs of one line of cookie input,
// and whether the line said anything (an empty "Cookie:" header does).
func cookieLine(line, bare string) (string, bool) {
	line = strings.TrimSpace(line)
	if line == "" {
		return "", false
	}
	if name, rest, ok := strings.Cut(line, ":"); ok && !strings.ContainsAny(name, "=;") {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "cookie":
			return strings.TrimSpace(rest), true
		case "set-cookie":
			pair, attrs, _ := strings.Cut(strings.TrimSpace(rest), ";")
			n, v, _ := strings.Cut(pair, "=")
			if v == "" || strings.Contains(strings.ToLower(attrs), "max-age=0") {
				return "", true // a deleted cookie
			}
			return strings.TrimSpace(n) + "=" + strings.TrimSpace(v), true
		}
	}
	if !strings.ContainsAny(line, "=;") {
		return bare + "=" + line, true
	}
	return line, true
}

// lookupCookie returns the first cookie called name in a Cookie header,
// read as the session library reads it (pairs separated by ';' or ',',
// names case-insensitive).
func lookupCookie(header, name string) (string, bool) {
	for _, pair := range strings.FieldsFunc(header, func(r rune) bool { return r == ';' || r == ',' }) {
		n, v, ok := strings.Cut(pair, "=")
		if ok && strings.EqualFold(strings.TrimSpace(n), name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// readOnlyStore lets open read a server-side session without changing the
// store: a restore from the remember cookie saves a new session, and those
// writes are counted and dropped.
type readOnlyStore struct {
	session.Store
	skipped int
}

func (r *readOnlyStore) Set(context.Context, string, string, []byte, store.SetOptions) error {
	r.skipped++
	return nil
}

func (r *readOnlyStore) Delete(context.Context, string, string, store.DeleteOptions) error {
	r.skipped++
	return nil
}
