package session

import (
	"context"
	"errors"
	"slices"

	"github.com/sessiongo/session/core/store"
)

// setLimit checks the session cap of the configuration.
func (m *Manager) setLimit(cfg *Config) error {
	switch {
	case cfg.MaxSessionsPerSubject < 0:
		return configError("MaxSessionsPerSubject %d is negative", cfg.MaxSessionsPerSubject)
	case cfg.MaxSessionsPerSubject == 0:
		if cfg.RefuseOverLimit {
			return configError("RefuseOverLimit needs MaxSessionsPerSubject")
		}
		return nil
	case cfg.Store == nil || !cfg.StoreMetadata:
		return configError("MaxSessionsPerSubject needs a Store and StoreMetadata")
	}
	if _, ok := cfg.Store.(store.SubjectIndex); !ok {
		return errNoIndex
	}
	m.limit, m.limitRefuse = cfg.MaxSessionsPerSubject, cfg.RefuseOverLimit
	return nil
}

// limitLogin reports whether the save of a record with opts is a login that
// the session cap applies to, and whether the store caps it itself.
func (m *Manager) limitLogin(remember bool, opts *store.SetOptions) (capped, atomic bool) {
	if m.limit == 0 || remember || opts.OldKey != "" || !opts.Partner.IsZero() ||
		opts.Metadata == nil || len(opts.Metadata.Audiences) != 1 ||
		opts.Metadata.Audiences[0] != m.encodeAudience(m.audience) {
		return false, false
	}
	l, ok := m.store.(store.SessionLimiter)
	return true, ok && l.LimitsSessions()
}

// checkLimit refuses a login over the cap on a store that does not cap
// sessions itself (best effort: a concurrent login may slip through).
func (s *Session) checkLimit(ctx context.Context) error {
	ds, err := s.m.limitedDevices(ctx, s.entry().subject)
	if err != nil {
		return err
	}
	if len(ds) >= s.m.limit {
		return wrapError(ErrSessionLimit, "unable to save session", nil)
	}
	return nil
}

// enforceLimit ends, after a login on a store that does not cap sessions
// itself, the subject's devices beyond the cap, those that expire soonest
// first, never the one of key (the login's record). Best effort: a
// concurrent login may leave one more until the next login.
func (s *Session) enforceLimit(ctx context.Context, key string) error {
	m := s.m
	ds, err := m.limitedDevices(ctx, s.entry().subject)
	if err != nil || len(ds) <= m.limit {
		return err
	}
	slices.SortStableFunc(ds, func(a, b Device) int { return a.Expires.Compare(b.Expires) })
	over := len(ds) - m.limit
	for i := range ds {
		if over == 0 {
			break
		}
		if slices.ContainsFunc(ds[i].records, func(e namedEntry) bool { return e.name == m.cookieName && e.Key == key }) {
			continue
		}
		if err := m.revokeDevice(ctx, &ds[i]); err != nil {
			return err
		}
		over--
	}
	m.revokedHook(ctx, RevokeSession, 0)
	return nil
}

// limitError maps a store's refusal of a login over the cap to
// ErrSessionLimit.
func limitError(err error) error {
	if errors.Is(err, ErrSessionLimit) {
		return wrapError(ErrSessionLimit, "unable to save session", err)
	}
	return nil
}

// limitedDevices lists the devices the cap counts: those with a live
// session cookie record, as a SessionLimiter counts them (a browser whose
// session record expired, its remember record alive, is not counted until
// it comes back). From a store without store.GroupInfoReader, each record
// is a device of its own, and this counts the session records.
func (m *Manager) limitedDevices(ctx context.Context, subject string) ([]Device, error) {
	ds, err := m.Devices(ctx, subject)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(ds, func(d Device) bool {
		return !slices.ContainsFunc(d.records, func(e namedEntry) bool { return e.name == m.cookieName })
	}), nil
}
