package demo

import (
	"html/template"
	"io"
	"net"
	"time"

	session "github.com/sessiongo/session/core"
)

// NewManager configures sessions on cookie storage, so no server is needed.
// An empty secret gives a random key (and core logs a warning), so sessions
// do not survive a restart; the examples pass $SESSION_SECRET. Remember-me is
// on; a login without the box calls SetRemember(false), which marks that
// session so that no remember cookie is issued for it.
//
// addr is the address the demo listens on, over plain HTTP. Cookies are
// Secure (core's default) unless addr is a loopback address: there, and
// only there, the demo turns Secure off (Config.DisableSecure), because a
// cookie jar, and a browser outside localhost, does not send Secure cookies
// back over plain HTTP. On any other address the cookies stay Secure: serve
// the demo behind TLS.
func NewManager(secret, addr string) (*session.Manager, error) {
	return session.New(session.Config{Secret: secret, Remember: true, DisableSecure: loopback(addr)})
}

// loopback reports whether addr ("host:port") is a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Page is what the demo page shows. Each example fills it in from its
// session; without a User it is the login form.
type Page struct {
	// Framework names the example in the page's heading.
	Framework string
	// User is the signed-in subject; empty, the page is the login form.
	User string
	// Visits is the visit counter.
	Visits int64
	// Notices are the flash messages to show, once.
	Notices []any
	// Session, when set, gives the details at the foot of the page: its id,
	// remaining timeouts and remember setting. Render only reads them.
	Session *session.Session
}

// details is what the template reads: p and its session's details.
type details struct {
	Page
	ID, Idling, Rolling, Absolute string
	Remember                      bool
}

// Render writes the page for p to w.
func (p Page) Render(w io.Writer) error {
	d := details{Page: p}
	if s := p.Session; s != nil {
		d.ID, d.Remember = s.ID(), s.Remember()
		d.Idling = remaining(s.IdlingTimeout())
		d.Rolling = remaining(s.RollingTimeout())
		d.Absolute = remaining(s.AbsoluteTimeout())
	}
	return page.Execute(w, d)
}

func remaining(d time.Duration, ok bool) string {
	if !ok {
		return "off"
	}
	return d.String()
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sessiongo demo</title>
<style>body{font:16px system-ui;max-width:36em;margin:3em auto}dt{font-weight:bold}</style>
<h1>sessiongo demo ({{.Framework}})</h1>
{{range .Notices}}<p><i>{{.}}</i></p>
{{end}}{{if .User}}
<p>Signed in as <b>{{.User}}</b>.</p>
<dl>
<dt>Visits</dt><dd>{{.Visits}}</dd>
<dt>Session id</dt><dd><code>{{.ID}}</code></dd>
<dt>Remaining</dt><dd>idling {{.Idling}}, rolling {{.Rolling}}, absolute {{.Absolute}}</dd>
<dt>Remember me</dt><dd>{{.Remember}}</dd>
</dl>
<form method="post" action="/visit"><button>Count a visit</button></form>
<form method="post" action="/logout"><button>Log out</button></form>
{{else}}
<form method="post" action="/login">
<label>Name <input name="user" required autofocus></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<button>Log in</button>
</form>
{{end}}`))
