package demo

import (
	"html/template"
	"io"
	"net"
	"time"

	session "github.com/sessiongo/session/core"
)

// Loopback reports whether addr ("host:port") is a loopback address. The
// examples serve plain HTTP, and a browser (outside localhost) or a cookie
// jar does not send Secure cookies back over plain HTTP: they turn Secure
// off (Config.DisableSecure) on a loopback address, and only there. On any
// other address the cookies stay Secure: serve the example behind TLS.
func Loopback(addr string) bool {
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

// Page is what the example page shows. Each example fills it in from its
// session; without a User it is the login form.
type Page struct {
	// Framework names the example in the page's heading.
	Framework string
	// Notices are the flash messages to show, once.
	Notices []string
	// User is the signed-in subject; empty, the page is the login form.
	User string
	// Name, UserID, Since and Roles are the signed-in user's profile.
	Name   string
	UserID int64
	Since  time.Time
	Roles  []string
	// Visits is the visit counter.
	Visits int64
	// Session, when set, gives the details at the foot of the page: its id,
	// remaining timeouts and remember setting. Render only reads them.
	Session *session.Session
	// Devices links the "your devices" page (DevicesPage) at /devices.
	Devices bool
}

// SinceFormat is the layout of Page.Since on the page: RFC 3339 with every
// nanosecond, so that a test sees the exact instant and offset.
const SinceFormat = time.RFC3339Nano

// details is what the template reads: p and its session's details.
type details struct {
	Page
	SinceText                     string
	ID, Idling, Rolling, Absolute string
	Remember                      bool
}

// Render writes the page for p to w.
func (p Page) Render(w io.Writer) error {
	d := details{Page: p}
	if !p.Since.IsZero() {
		d.SinceText = p.Since.Format(SinceFormat)
	}
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
<style>body{font:16px system-ui;max-width:36em;margin:3em auto}dt{font-weight:bold}form{display:inline}</style>
<h1>sessiongo demo ({{.Framework}})</h1>
{{range .Notices}}<p class="notice"><i>{{.}}</i></p>
{{end}}{{if .User}}
<p>Signed in as <b id="user">{{.User}}</b>.</p>
<dl>
<dt>Name</dt><dd id="name">{{.Name}}</dd>
<dt>User id</dt><dd id="user-id">{{.UserID}}</dd>
<dt>Member since</dt><dd id="since">{{.SinceText}}</dd>
<dt>Roles</dt><dd id="roles">{{range $i, $r := .Roles}}{{if $i}}, {{end}}{{$r}}{{end}}</dd>
<dt>Visits</dt><dd id="visits">{{.Visits}}</dd>
<dt>Session id</dt><dd><code id="session-id">{{.ID}}</code></dd>
<dt>Remaining</dt><dd id="remaining">idling {{.Idling}}, rolling {{.Rolling}}, absolute {{.Absolute}}</dd>
<dt>Remember me</dt><dd id="remember">{{.Remember}}</dd>
</dl>
<form method="post" action="/visit"><button>Count a visit</button></form>
<form method="post" action="/logout"><button>Log out</button></form>
<form method="post" action="/logout-everywhere"><button>Log out everywhere</button></form>
{{if .Devices}}<p><a id="devices" href="/devices">Your devices</a></p>
{{end}}{{else}}
<form method="post" action="/login">
<label>Name <input name="user" required autofocus placeholder="alice or bob"></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<button>Log in</button>
</form>
{{end}}`))
