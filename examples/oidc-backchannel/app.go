package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	session "github.com/sessiongo/session/core"
)

// app is the relying party: cookie sessions with a revocation backend, a
// sign-in through the provider (faked here), a local logout, and the
// back-channel logout endpoint the provider calls.
type app struct {
	m        *session.Manager
	verifier *Verifier
	issuer   string
	idp      *fakeIdP         // the demo's provider; nil with a real one
	clock    func() time.Time // validates logout tokens
	log      *slog.Logger
	// backchannelURL is where the demo's provider posts logout tokens.
	backchannelURL string
}

// The revocation keys of a sign-in: the provider's session, and the user.
// A logout token names one or the other.
func sidKey(iss, sid string) string { return "sid:" + iss + "#" + sid }
func subKey(iss, sub string) string { return "sub:" + iss + "#" + sub }

// handler returns the routes. The back-channel endpoint is outside the
// session middleware: the provider's request carries no cookie, and its
// response must set none.
func (a *app) handler() http.Handler {
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", a.page)
	pages.HandleFunc("POST /login", a.login)
	pages.HandleFunc("POST /logout", a.logout)
	pages.HandleFunc("POST /idp/signout", a.idpSignOut)
	mux := http.NewServeMux()
	mux.HandleFunc("/backchannel-logout", a.backchannelLogout)
	mux.Handle("/", a.m.Middleware()(pages))
	return mux
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<title>OpenID Connect Back-Channel Logout with sessiongo</title>
{{if .User}}
<p>Signed in as <b>{{.User}}</b> (provider session <code>{{.SID}}</code>).</p>
<form method="post" action="/logout"><button>Log out here</button></form>
{{if .Demo}}
<p>At the identity provider (simulated: it posts a logout token to <code>/backchannel-logout</code>):</p>
<form method="post" action="/idp/signout"><input type="hidden" name="scope" value="session"><button>Sign out of this provider session</button></form>
<form method="post" action="/idp/signout"><input type="hidden" name="scope" value="user"><button>Sign out everywhere</button></form>
{{end}}
{{else}}
<form method="post" action="/login">
<p>Sign in at the identity provider{{if .Demo}} (simulated: any name){{end}}:</p>
<input name="user" placeholder="alice" required> <button>Sign in</button>
</form>
{{end}}
`))

func (a *app) page(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	data := struct {
		User, SID string
		Demo      bool
	}{Demo: a.idp != nil}
	if s.Subject() != "" {
		sid, _ := session.Get[string](s, "sid")
		data.User, data.SID = s.Subject(), sid
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, data); err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// login is the end of a sign-in. A real application runs the
// authorization code flow and takes sub and sid from the verified ID
// token; the demo's provider makes them up.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	if a.idp == nil {
		http.Error(w, "sign in through your identity provider", http.StatusNotFound)
		return
	}
	user := r.PostFormValue("user")
	if user == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	sub, sid := a.idp.signIn(user)
	s := session.FromRequest(r)
	s.SetSubject(sub)
	s.Set("sid", sid)
	// What a logout token may name later: this provider session, or the
	// user. Kept in the encrypted cookie; Manager.Revoke revokes by them.
	s.SetRevocationKeys(sidKey(a.issuer, sid), subKey(a.issuer, sub))
	a.done(w, r, s.Renew()) // a new session id at sign-in
}

// logout ends the session in this browser: Destroy expires its cookies and
// revokes copies of them.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	if !s.Exists() {
		a.done(w, r, nil)
		return
	}
	a.done(w, r, s.Destroy())
}

// backchannelLogout receives the provider's logout token (OpenID Connect
// Back-Channel Logout 1.0): a form post with logout_token. A valid token
// revokes the provider session it names (sid) or, without sid, every
// session of the user (sub), in every browser: each is rejected on its
// next request. 200 when done, 400 with a JSON error otherwise; never
// cached.
func (a *app) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	token := r.PostFormValue("logout_token")
	if token == "" {
		a.reject(w, "invalid_request", errors.New("no logout_token"))
		return
	}
	c, err := a.verifier.Verify(token, a.clock())
	if err != nil {
		a.reject(w, "invalid_request", err)
		return
	}
	key := subKey(c.Issuer, c.Sub)
	if c.SID != "" {
		// One provider session; sub, when also given, names its user.
		key = sidKey(c.Issuer, c.SID)
	}
	err = a.m.Revoke(r.Context(), key, 0)
	a.verifier.Done(c, err == nil) // a failed logout may be retried with the same token
	if err != nil {
		// The revocation backend failed (ErrStore): the logout did not
		// happen, which the specification answers with 400 too.
		a.log.Error("back-channel logout: revocation failed", "err", err, "jti", c.JTI)
		a.reject(w, "server_error", errors.New("the logout could not be recorded; try again"))
		return
	}
	a.log.Info("back-channel logout", "sid", c.SID != "", "jti", c.JTI)
	w.WriteHeader(http.StatusOK)
}

// reject answers 400 with an error object, as the specification allows.
func (a *app) reject(w http.ResponseWriter, code string, err error) {
	a.log.Warn("back-channel logout rejected", "err", err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": err.Error()})
}

// idpSignOut plays the provider's part of a sign-out there: it signs a
// logout token for this browser's provider session (scope=session) or its
// user (scope=user) and posts it to the back-channel endpoint, server to
// server, as a provider would.
func (a *app) idpSignOut(w http.ResponseWriter, r *http.Request) {
	s := session.FromRequest(r)
	if a.idp == nil || s.Subject() == "" {
		a.done(w, r, nil)
		return
	}
	sid, _ := session.Get[string](s, "sid")
	if r.PostFormValue("scope") == "user" {
		sid = ""
	}
	token, err := a.idp.logoutToken(s.Subject(), sid, a.clock())
	if err != nil {
		a.fail(w, err)
		return
	}
	resp, err := http.PostForm(a.backchannelURL, url.Values{"logout_token": {token}})
	if err != nil {
		a.fail(w, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		a.log.Error("the back-channel logout failed", "status", resp.Status)
	}
	a.done(w, r, nil) // this page's next request is rejected, like every other browser's
}

func (a *app) done(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// fail logs err and answers a bare 500.
func (a *app) fail(w http.ResponseWriter, err error) {
	a.log.Error("request failed", "err", err)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
