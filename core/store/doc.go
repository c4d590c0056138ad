// Package store is for those who write a session store: the Store
// interface and its contract, the option structs its methods take, the
// optional interfaces a store may implement (SubjectIndex, Stopper), Key
// for key-value stores that share records with lua-resty-session, and
// ErrNotFound. As database/sql/driver is to database/sql, it keeps what only
// store authors need out of the session package's documentation; users of
// a store only see session.Store, an alias of Store, in Config.Store.
//
//	import "github.com/sessiongo/session/core/store"
//
// # Writing a store
//
// Implement the three methods of Store, each taking a context first and
// primitives only, so that a store never depends on framework code:
//
//   - Get returns the value of a record, or an error matching ErrNotFound
//     when it is missing or expired;
//   - Set stores a record for a TTL and, through SetOptions, rotates it
//     (OldKey and StaleTTL), joins it to a group of records (OldKey,
//     Partner), indexes it by subject (Metadata) or only replaces its value
//     (Replace);
//   - Delete removes a record with every other record of its group, and
//     deleting a missing record is not an error.
//
// Read the contract on Store sentence by sentence: the session library's
// logout and revocation rely on every one of them. Extra arguments travel
// in GetOptions, SetOptions and DeleteOptions, so that new fields never
// change the method set. A store that keeps the subject index also
// implements SubjectIndex, which the session package's Manager.Sessions,
// Manager.RevokeSessions and Manager.RevokeSession use; a store that runs
// background work implements Stopper.
//
// A store that keeps its records in a key-value server names them with
// Key ("[prefix:]name:key[:suffix]" and
// "[prefix:]name:audience:subject[:suffix]"), as lua-resty-session does, so
// that Go and OpenResty services can share sessions.
//
// Errors: a missing or expired record is an error matching ErrNotFound
// (wrap it with %w to add context); any other failure is returned as is,
// and the session library reports it to its caller wrapped in an error
// matching session.ErrStore.
//
// # Testing a store
//
// Run conformance.TestStore (package
// github.com/sessiongo/session/conformance) in your tests: it checks every
// sentence of the contract, one named subtest per rule, on a fresh store
// from your factory:
//
//	func TestConformance(t *testing.T) {
//		conformance.TestStore(t, func(t *testing.T) session.Store {
//			st, err := mystore.New(client, mystore.WithPrefix(t.Name()))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return st
//		}, nil)
//	}
//
// conformance.FaultyStore wraps a store to make chosen operations fail, and
// conformance.TestStoreOutage and conformance.TestSharedStore check a store
// backed by a server during an outage and from two clients.
//
// This package imports nothing from the session package, which imports it.
package store
