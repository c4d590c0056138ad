package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

const revokeDescription = `Revokes cookie sessions: for applications that keep sessions in the
cookie (storage "cookie") with a revocation backend (session.Config's
Revocation), it writes a mark there that the application reads on every
Open. Sessions created afterwards, a new sign-in, open.

  --key K      every session that carries the revocation key K
               (Session.SetRevocationKeys), in any audience, created until
               now: Manager.Revoke. The mark is kept for --ttl, by default
               as long as a cookie of the configuration can live.
  --subject S  every session of subject S in the audience (--audience),
               created until now: Manager.RevokeSessions.

The backend is --store URL, or the configuration's revocation backend
("revocation": "redis" and its "redis" section, ...). Give the application's
configuration (--config): its audience, and its absolute timeouts, which
set how long a mark is kept. Other instances of the application see the
mark once their revocation cache (revocation_cache_ttl) has expired.

Prints a JSON object with the mark written: its backend key, at (sessions
created at or before it are revoked, unix seconds) and ttl (seconds).
For a server-side store (storage "redis", ...), use "sessions revoke".
`

// revokeReport is what revoke prints.
type revokeReport struct {
	Revoked   string `json:"revoked"` // "key" or "subject"
	Key       string `json:"key,omitempty"`
	Audience  string `json:"audience,omitempty"`
	Subject   string `json:"subject,omitempty"`
	Mark      string `json:"mark"`
	At        int64  `json:"at"`
	AtTime    string `json:"at_time"`
	TTL       int64  `json:"ttl"`
	ExpiresAt string `json:"expires_at"`
	Store     string `json:"store"`
}

func runRevoke(e *env, args []string) error {
	fs := newFlagSet(e, "revoke", "revoke --key K [--ttl D] | --subject S  [--store URL] [--config file.json] [flags]", revokeDescription)
	cf := addConfigFlags(fs)
	key := fs.String("key", "", "revoke the sessions that carry this revocation `key`")
	var ttl time.Duration
	ttlGiven := false
	fs.Func("ttl", "with --key: how long the mark is kept, seconds or a duration (default: the longest a cookie can live)", func(s string) error {
		n, err := parseSeconds(s)
		if err != nil {
			return err
		}
		ttl, ttlGiven = time.Duration(n)*time.Second, true
		return nil
	})
	timeout := fs.Duration("timeout", 10*time.Second, "time limit for the backend operations")
	positional, err := parseFlags(e, fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usagef("revoke takes no arguments (got %q): give --key or --subject", positional[0])
	}
	st, err := cf.settings(e)
	if err != nil {
		return err
	}
	// The subject to revoke comes from the flag only, never from a
	// configuration file's "subject": a revocation is asked for explicitly.
	subject, bySubject := cf.given("subject")
	switch {
	case *key == "" && !bySubject:
		fs.Usage()
		return usagef("revoke needs --key or --subject")
	case *key != "" && bySubject:
		return usagef("revoke takes --key or --subject, not both")
	case bySubject && subject == "":
		return usagef("--subject: empty")
	case ttlGiven && bySubject:
		return usagef("--ttl is for --key: a subject's mark is kept as long as its sessions can live")
	case ttlGiven && ttl < time.Second:
		return usagef("--ttl: at least one second")
	}
	backendURL, err := revocationURL(st, cf)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := openStore(ctx, backendURL)
	if err != nil {
		return err
	}
	defer conn.close()
	backend, ok := conn.store.(store.Revoker)
	if !ok {
		return usagef("store %s cannot serve as a revocation backend", conn.redacted)
	}
	rec := &markRecorder{Revoker: backend}
	st.cfg.Revocation = rec
	st.cfg.Store = nil
	// No key is needed to write a mark: without one, New makes a random
	// key, and its warning goes to this discarded log.
	st.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := session.New(st.cfg)
	if err != nil {
		return usageError{err}
	}
	r := revokeReport{Store: conn.redacted}
	if bySubject {
		r.Revoked, r.Audience, r.Subject = "subject", audienceOf(st.cfg), subject
		_, err = m.RevokeSessions(ctx, subject)
	} else {
		r.Revoked, r.Key = "key", *key
		err = m.Revoke(ctx, *key, ttl)
	}
	if err != nil {
		return storeFailure(conn, err)
	}
	marks := rec.written()
	if len(marks) != 1 {
		return fmt.Errorf("store %s: %d marks written, want 1", conn.redacted, len(marks))
	}
	mk := marks[0]
	r.Mark, r.At, r.AtTime = mk.Key, mk.At.Unix(), mk.At.UTC().Format(time.RFC3339)
	r.TTL = int64(mk.TTL / time.Second)
	r.ExpiresAt = mk.At.Add(mk.TTL).UTC().Format(time.RFC3339)
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// revocationURL returns the URL of the revocation backend: --store, or the
// configuration file's revocation backend. A configuration whose sessions
// live in a server-side store is refused: its application reads no marks.
func revocationURL(st *settings, cf *configFlags) (string, error) {
	if st.storage != "" && st.storage != "cookie" {
		return "", usagef("the configuration keeps sessions in storage %q, not in the cookie: revoke writes marks for cookie sessions; use \"sessions revoke\" to delete server-side sessions", st.storage)
	}
	if u, ok := cf.given("store"); ok {
		return u, nil
	}
	if st.store != "" {
		return "", usagef("the configuration names a server-side store (\"store\"): revoke writes marks for cookie sessions; use \"sessions revoke\", or give the revocation backend with --store")
	}
	if st.revocation == "" {
		return "", usagef("revoke needs the revocation backend: --store URL, or a --config with \"revocation\" and its section")
	}
	if _, known := storageSections[st.revocation]; !known {
		return "", usagef("revocation %q cannot be reached from sessionctl (pass --store URL)", st.revocation)
	}
	u, err := storageURL(st.revocation, st.revocationSection)
	if err != nil {
		return "", usagef("revocation %q: %v", st.revocation, err)
	}
	return u, nil
}

// given returns the value of a configuration flag and whether it was
// given on the command line.
func (cf *configFlags) given(name string) (string, bool) {
	for _, v := range cf.values {
		if v.opt.flag == name && v.set {
			return v.String(), true
		}
	}
	return "", false
}

// audienceOf is the audience a Manager of cfg uses.
func audienceOf(cfg session.Config) string {
	if cfg.Audience == "" {
		return session.DefaultAudience
	}
	return cfg.Audience
}

// markRecorder passes marks to the backend and keeps them, so that revoke
// reports the mark the library wrote (its key, At and TTL) rather than one
// it would compute again.
type markRecorder struct {
	store.Revoker
	mu    sync.Mutex
	marks []store.Mark
}

// Revoke records marks, then writes them.
func (r *markRecorder) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	r.mu.Lock()
	r.marks = append(r.marks, marks...)
	r.mu.Unlock()
	return r.Revoker.Revoke(ctx, marks, now)
}

func (r *markRecorder) written() []store.Mark {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.marks
}
