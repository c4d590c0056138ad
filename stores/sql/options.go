package sqlstore

import (
	"fmt"
	"strings"
	"time"

	session "github.com/sessiongo/session/core"
)

// Default names and rates.
const (
	// DefaultTable is the sessions table, as in lua-resty-session.
	DefaultTable = "sessions"
	// DefaultCleanupProbability is the chance that a write also deletes the
	// expired rows, as in lua-resty-session (1/1000).
	DefaultCleanupProbability = 0.001
	// maxIdentifier bounds each part of a table name so that the derived
	// index and constraint names fit in PostgreSQL's 63 and MySQL's 64
	// characters.
	maxIdentifier = 55
)

// Option configures a Store (New) or a schema (Migrate, Schema).
type Option func(*config)

type config struct {
	table       string
	meta        string
	interval    time.Duration
	probability float64
	clock       func() time.Time
}

// WithTable sets the sessions table, "sessions" by default. The name is a
// plain SQL identifier (letters, digits and underscores, not starting with a
// digit, at most 55 characters), optionally qualified by a schema or
// database as "schema.table". Unless WithMetaTable is given, the subject
// index table is this name with "_meta" appended.
func WithTable(name string) Option { return func(c *config) { c.table = name } }

// WithMetaTable sets the subject index table, "<table>_meta" by default
// ("sessions_meta"). The same identifier rules as WithTable apply.
func WithMetaTable(name string) Option { return func(c *config) { c.meta = name } }

// WithCleanupInterval starts a cleaner goroutine that deletes expired rows
// every d; stop it with Store.Stop. The default, 0, starts none (expired
// rows are then only removed now and then on write, see
// WithCleanupProbability, or by calling Store.Cleanup yourself).
func WithCleanupInterval(d time.Duration) Option { return func(c *config) { c.interval = d } }

// WithCleanupProbability sets the chance (0 to 1) that a Set or Delete
// also deletes every expired row once it has done its work, as
// lua-resty-session does with a chance of 1/1000
// (DefaultCleanupProbability). 0 turns this off; 1 cleans up on every
// write.
func WithCleanupProbability(p float64) Option { return func(c *config) { c.probability = p } }

// WithClock sets the clock of the cleaner started by WithCleanupInterval,
// time.Now by default. Give it the same clock as session.Config.Clock.
// Get, Set, Delete and Sessions compare expiry against the session
// library's time passed to them and read this clock only when that time is
// zero.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

func newConfig(opts []Option) (config, names, error) {
	c := config{table: DefaultTable, probability: DefaultCleanupProbability, clock: time.Now}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.meta == "" {
		c.meta = c.table + "_meta"
	}
	var n names
	var err error
	if n.table, n.tableBase, n.schemaPrefix, err = identifier(c.table); err != nil {
		return c, n, err
	}
	var metaPrefix string
	if n.meta, n.metaBase, metaPrefix, err = identifier(c.meta); err != nil {
		return c, n, err
	}
	if metaPrefix != n.schemaPrefix {
		return c, n, fmt.Errorf("sqlstore: tables %q and %q must be in the same schema: %w",
			c.table, c.meta, session.ErrInvalidConfig)
	}
	if n.table == n.meta {
		return c, n, fmt.Errorf("sqlstore: the sessions and meta tables are both %q: %w", c.table, session.ErrInvalidConfig)
	}
	switch {
	case c.interval < 0:
		return c, n, fmt.Errorf("sqlstore: negative cleanup interval %v: %w", c.interval, session.ErrInvalidConfig)
	case !(c.probability >= 0 && c.probability <= 1): // also NaN
		return c, n, fmt.Errorf("sqlstore: cleanup probability %v is not between 0 and 1: %w",
			c.probability, session.ErrInvalidConfig)
	case c.clock == nil:
		return c, n, fmt.Errorf("sqlstore: nil clock: %w", session.ErrInvalidConfig)
	}
	return c, n, nil
}

// names are the validated table names of a store.
type names struct {
	table, meta         string // as given, possibly schema-qualified
	tableBase, metaBase string // without the schema
	schemaPrefix        string // "schema." or ""
}

// identifier validates a possibly schema-qualified table name and splits it.
func identifier(s string) (full, base, prefix string, err error) {
	parts := strings.Split(s, ".")
	if len(parts) > 2 {
		return "", "", "", fmt.Errorf("sqlstore: table name %q has more than one dot: %w", s, session.ErrInvalidConfig)
	}
	for _, p := range parts {
		if !validIdent(p) {
			return "", "", "", fmt.Errorf("sqlstore: table name %q is not a plain identifier "+
				"(letters, digits and _, not starting with a digit, 1 to %d characters): %w",
				s, maxIdentifier, session.ErrInvalidConfig)
		}
	}
	if len(parts) == 2 {
		prefix = parts[0] + "."
	}
	return s, parts[len(parts)-1], prefix, nil
}

func validIdent(s string) bool {
	if len(s) == 0 || len(s) > maxIdentifier {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
