package demo

import (
	"errors"
	"html/template"
	"io"
	"net"
	"time"

	session "github.com/sessiongo/session/core"
)

// NewManager configures sessions on cookie storage, so no server is needed.
// An empty secret gives a random key (and core logs a warning), so sessions
// do not survive a restart; the examples pass $SESSION_SECRET. Remember-me is
// on; Login without the box calls SetRemember(false), which marks that
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

// Login signs user in on s: it empties the data, sets the subject, a visit
// counter and the login time, asks for a remember cookie when remember is
// true, and saves, which issues a new session id.
func Login(s *session.Session, user string, remember bool) error {
	s.SetData(nil)
	s.SetSubject(user)
	s.Set("visits", 0)
	s.Set("login", time.Now().UTC().Format(time.RFC3339))
	s.SetRemember(remember)
	return s.Save()
}

// Visit adds one to the visit counter of s and saves it. It does nothing
// when s does not exist.
func Visit(s *session.Session) error {
	if !s.Exists() {
		return nil
	}
	visits, _ := s.Get("visits").(float64) // JSON numbers decode as float64
	s.Set("visits", visits+1)
	return s.Save()
}

// Logout logs s out, clearing its cookies. It does nothing when s does not
// exist.
func Logout(s *session.Session) error {
	if !s.Exists() {
		return nil
	}
	return s.Logout()
}

// View is what the page shows of one session.
type View struct {
	// Framework names the example in the page's heading.
	Framework string
	// Exists reports a signed-in session; the page shows the login form
	// otherwise.
	Exists bool
	// Subject, ID and Data are the session's.
	Subject, ID string
	Data        map[string]any
	// Reason says why no session could be opened (expired, tampered...);
	// empty when there was simply none.
	Reason string
	// Idling, Rolling and Absolute are the remaining timeouts, or "off".
	Idling, Rolling, Absolute string
	// Remember reports that the session asked for a remember cookie.
	Remember bool
}

// NewView returns the view of s for the example named framework. err is the
// error from opening s, if the caller has it; ErrNotFound is not shown, and
// other failures than an expired or invalid cookie (a store's) are shown
// without their text, which may name the store's hosts.
func NewView(framework string, s *session.Session, err error) View {
	v := View{Framework: framework, Exists: s.Exists()}
	switch {
	case err == nil, errors.Is(err, session.ErrNotFound):
	case session.Ordinary(err):
		v.Reason = err.Error()
	default:
		v.Reason = "the session store is unavailable"
	}
	if v.Exists {
		v.Subject, v.ID, v.Data, v.Remember = s.Subject(), s.ID(), s.Data(), s.Remember()
		v.Idling = remaining(s.IdlingTimeout())
		v.Rolling = remaining(s.RollingTimeout())
		v.Absolute = remaining(s.AbsoluteTimeout())
	}
	return v
}

func remaining(d time.Duration, ok bool) string {
	if !ok {
		return "off"
	}
	return d.String()
}

// Render writes the page for v to w.
func (v View) Render(w io.Writer) error { return page.Execute(w, v) }

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>sessiongo demo</title>
<style>body{font:16px system-ui;max-width:36em;margin:3em auto}dt{font-weight:bold}</style>
<h1>sessiongo demo ({{.Framework}})</h1>
{{if .Exists}}
<p>Signed in as <b>{{.Subject}}</b>.</p>
<dl>
<dt>Data</dt><dd><code>{{.Data}}</code></dd>
<dt>Session id</dt><dd><code>{{.ID}}</code></dd>
<dt>Remaining</dt><dd>idling {{.Idling}}, rolling {{.Rolling}}, absolute {{.Absolute}}</dd>
<dt>Remember me</dt><dd>{{.Remember}}</dd>
</dl>
<form method="post" action="/visit"><button>Count a visit</button></form>
<form method="post" action="/logout"><button>Log out</button></form>
{{else}}
{{with .Reason}}<p><i>No session: {{.}}</i></p>{{end}}
<form method="post" action="/login">
<label>Name <input name="user" required autofocus></label>
<label><input type="checkbox" name="remember"> Remember me</label>
<button>Log in</button>
</form>
{{end}}`))
