package main

import (
	"context"
	"time"

	"github.com/sessiongo/session/core/store"
)

// revocationReport says where open looked the session up.
type revocationReport struct {
	URL           string `json:"url"`
	WritesSkipped int    `json:"writes_skipped,omitempty"`
}

// openRevocation opens the revocation backend that the configuration names
// ("revocation" and its section) for cookie storage, as the application
// has it, so that open rejects a revoked session as the application would.
// It returns nil when there is none: no "revocation", a server-side store
// (where deleting the record revokes, and the session library refuses
// both), or skip (--no-revocation).
func openRevocation(ctx context.Context, st *settings, skip bool) (*storeConn, *readOnlyRevoker, error) {
	if skip || st.revocation == "" || st.store != "" {
		return nil, nil, nil
	}
	if _, known := storageSections[st.revocation]; !known {
		return nil, nil, usagef("revocation %q cannot be reached from sessionctl: pass --no-revocation to open the cookie without checking revocation marks", st.revocation)
	}
	u, err := storageURL(st.revocation, st.revocationSection)
	if err != nil {
		return nil, nil, usagef("revocation %q: %v", st.revocation, err)
	}
	conn, err := openStore(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	backend, ok := conn.store.(store.Revoker)
	if !ok {
		conn.close()
		return nil, nil, usagef("revocation %q: store %s cannot serve as a revocation backend", st.revocation, conn.redacted)
	}
	return conn, &readOnlyRevoker{Revoker: backend}, nil
}

// readOnlyRevoker lets open read revocation marks without writing any: the
// marks a call would write are counted and dropped.
type readOnlyRevoker struct {
	store.Revoker
	skipped int
}

// Revoke counts the marks and writes none.
func (r *readOnlyRevoker) Revoke(_ context.Context, marks []store.Mark, _ time.Time) error {
	r.skipped += len(marks)
	return nil
}
