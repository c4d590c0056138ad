package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	session "github.com/sessiongo/session/core"
)

const sessionsDescription = `Lists (list) or deletes (revoke) the live sessions of a subject in an
audience, from the store's subject index: "log out everywhere". The index
is kept by applications that run with store_metadata on, and the subject
is looked up as they wrote it (pass --hash-subject when they hash it, and
their cookie names when they are not the defaults). revoke --key deletes
one session, by a storage key that list printed.

list prints a JSON array of {key, expires, expires_at}, soonest to expire
first; revoke prints {"revoked": N}. Cookies of revoked sessions no longer
open (the store has no record for them).
`

type sessionEntry struct {
	Key       string `json:"key"`
	Expires   int64  `json:"expires"`
	ExpiresAt string `json:"expires_at"`
}

func runSessions(e *env, args []string) error {
	fs := newFlagSet(e, "sessions", "sessions list|revoke --store URL --audience A --subject S [flags]", sessionsDescription)
	cf := addConfigFlags(fs)
	now := fs.String("now", "", "the time to act at: unix seconds or RFC 3339 (default: the current time)")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit for the store operations")
	key := fs.String("key", "", "revoke: only the session with this storage `key`")
	positional, err := parseFlags(e, fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 || positional[0] != "list" && positional[0] != "revoke" {
		fs.Usage()
		return usagef("sessions: want list or revoke")
	}
	action := positional[0]
	if *key != "" && action != "revoke" {
		return usagef("--key is for revoke")
	}
	st, err := cf.settings(e)
	if err != nil {
		return err
	}
	switch {
	case st.store == "":
		return usagef("sessions %s needs --store URL (or a --config with storage)", action)
	case st.cfg.Subject == "":
		return usagef("sessions %s needs --subject", action)
	}
	rq := &requestFlags{now: *now}
	clock, _, err := rq.clock()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := openStore(ctx, st.store)
	if err != nil {
		return err
	}
	defer conn.close()
	st.cfg.Store = conn.store
	st.cfg.Clock = clock
	// The index needs no key: without one, New makes a random key, and its
	// warning goes to this discarded log.
	st.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := session.New(st.cfg)
	if err != nil {
		return usageError{err}
	}
	// The Manager lists and revokes in its own audience, --audience.
	subject := st.cfg.Subject
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	switch {
	case action == "list":
		entries, err := m.Sessions(ctx, subject)
		if err != nil {
			return storeFailure(conn, err)
		}
		out := make([]sessionEntry, 0, len(entries))
		for _, en := range entries {
			out = append(out, sessionEntry{en.Key, en.Expires.Unix(), en.Expires.UTC().Format(time.RFC3339)})
		}
		return enc.Encode(out)
	case *key != "":
		if err := m.RevokeSession(ctx, subject, *key); err != nil {
			return storeFailure(conn, err)
		}
		return enc.Encode(map[string]int{"revoked": 1})
	}
	n, err := m.RevokeSessions(ctx, subject)
	if err != nil {
		enc.Encode(map[string]int{"revoked": n})
		return storeFailure(conn, err)
	}
	return enc.Encode(map[string]int{"revoked": n})
}

func storeFailure(conn *storeConn, err error) error {
	if errors.Is(err, session.ErrInvalidConfig) {
		return usageError{fmt.Errorf("store %s: %w", conn.redacted, err)}
	}
	return fmt.Errorf("store %s: %w", conn.redacted, err)
}
