package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	session "github.com/sessiongo/session/core"
)

const newDescription = `Mints a new session, as a server would on sign-in, and prints its
Set-Cookie lines ("Set-Cookie: ..." one a line; --json for a JSON object
with the id, the lines and the Cookie header a browser would send back).
The data is a JSON object (--data); --subject, --audience and --remember
set the entry's subject, audience and the remember cookie. With --store
the session is saved there (add --store-metadata to index it by subject
for "sessions list|revoke"). The output can be piped into "sessionctl open".
`

type newReport struct {
	ID        string   `json:"id"`
	SetCookie []string `json:"set_cookie"`
	Cookie    string   `json:"cookie"`
	Store     *struct {
		URL  string `json:"url"`
		Name string `json:"name"`
		Key  string `json:"key"`
	} `json:"store,omitempty"`
}

func runNew(e *env, args []string) error {
	fs := newFlagSet(e, "new", "new [flags]", newDescription)
	cf := addConfigFlags(fs)
	rq := addRequestFlags(fs)
	data := fs.String("data", "{}", "session data: a JSON `object`")
	asJSON := fs.Bool("json", false, "print a JSON object instead of Set-Cookie lines")
	positional, err := parseFlags(e, fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usagef("new takes no arguments (got %q); the data goes in --data", positional[0])
	}
	var values map[string]any
	d := json.NewDecoder(strings.NewReader(*data))
	if err := d.Decode(&values); err != nil || values == nil {
		if err == nil {
			err = errors.New("null")
		}
		return usagef("--data: want a JSON object: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return usagef("--data: trailing data after the JSON object")
	}
	st, err := cf.settings(e)
	if err != nil {
		return err
	}
	if err := needKey(st); err != nil {
		return err
	}
	clock, _, err := rq.clock()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), rq.timeout)
	defer cancel()
	var conn *storeConn
	if st.store != "" {
		if conn, err = openStore(ctx, st.store); err != nil {
			return err
		}
		defer conn.close()
		st.cfg.Store = conn.store
	}
	st.cfg.Clock = clock
	var logs bytes.Buffer
	st.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	m, err := session.New(st.cfg)
	if err != nil {
		return usageError{err}
	}
	if logs.Len() > 0 { // a weak secret: a warning, not a failure
		fmt.Fprintf(e.stderr, "sessionctl: warning: %s\n", strings.TrimSpace(logs.String()))
		logs.Reset()
	}
	ex := &exchange{ctx: ctx, remoteAddr: rq.remoteAddr, scheme: rq.scheme, userAgent: rq.userAgent}
	s := m.NewSession(ex)
	s.SetData(values)
	if err := s.Save(); err != nil {
		if errors.Is(err, session.ErrTooLarge) {
			return usageError{err}
		}
		return err
	}
	if logs.Len() > 0 { // the remember cookie failed: Save logs it
		return fmt.Errorf("session saved, but: %s", strings.TrimSpace(logs.String()))
	}
	r := newReport{ID: s.ID(), SetCookie: ex.setCookies}
	var pairs []string
	for _, l := range ex.setCookies {
		pair, _, _ := strings.Cut(l, ";")
		pairs = append(pairs, pair)
	}
	r.Cookie = strings.Join(pairs, "; ")
	if conn != nil {
		key, _ := m.StorageKey(s.ID())
		r.Store = &struct {
			URL  string `json:"url"`
			Name string `json:"name"`
			Key  string `json:"key"`
		}{conn.redacted, m.CookieName(), key}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	for _, l := range ex.setCookies {
		fmt.Fprintf(e.stdout, "Set-Cookie: %s\n", l)
	}
	return nil
}
