package demo

import (
	"html/template"
	"io"
	"time"

	session "github.com/sessiongo/session/core"
)

// DevicesPage is the "your devices" page: the browsers the signed-in user
// is signed in on (session.Manager.Devices), each with a form to sign it
// out, and one to sign out all the others.
type DevicesPage struct {
	// Framework names the example in the page's heading.
	Framework string
	// User is the signed-in subject.
	User string
	// Devices are the user's devices, as Session.Devices lists them.
	Devices []session.Device
	// Unavailable, when set, says why there is no list (cookie storage
	// keeps no index of the user's sessions).
	Unavailable string
}

// Render writes the page for p to w.
func (p DevicesPage) Render(w io.Writer) error { return devicesPage.Execute(w, p) }

var devicesPage = template.Must(template.New("devices").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "unknown"
		}
		return t.UTC().Format(time.DateTime + " UTC")
	},
}).Parse(`<!doctype html>
<title>Your devices - sessiongo demo</title>
<style>body{font:16px system-ui;max-width:48em;margin:3em auto}td,th{padding:.2em .6em;text-align:left}form{display:inline}</style>
<h1>Your devices ({{.Framework}})</h1>
<p>Signed in as <b id="user">{{.User}}</b>. <a href="/">Back</a></p>
{{if .Unavailable}}<p id="unavailable">{{.Unavailable}}</p>
{{else}}<table id="devices">
<tr><th>Device</th><th>Kind</th><th>Signed in</th><th>Last seen</th><th>Expires</th><th></th></tr>
{{range .Devices}}<tr class="device" data-id="{{.ID}}">
<td>{{if .Facts.Label}}{{.Facts.Label}}{{else if .Facts.UserAgent}}{{.Facts.UserAgent}}{{else}}a browser{{end}}{{if .Facts.IP}} ({{.Facts.IP}}){{end}}{{if .Current}} <b class="current">this device</b>{{end}}</td>
<td>{{.Kind}}</td><td>{{when .Created}}</td><td>{{when .LastSeen}}</td><td>{{when .Expires}}</td>
<td>{{if not .Current}}<form method="post" action="/devices/revoke"><input type="hidden" name="id" value="{{.ID}}"><button>Sign out</button></form>{{end}}</td>
</tr>
{{end}}</table>
<form method="post" action="/devices/revoke-others"><button>Sign out all other devices</button></form>
{{end}}`))
