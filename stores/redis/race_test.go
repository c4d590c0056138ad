package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// A revoke that races with saves must never leave a live record: a save
// either lands before the Delete, which then ends its record too, or fails.

// TestDeleteRacingSaves rotates forks of one session from several
// goroutines while another deletes the session: once all are done, no
// record that a successful save wrote is left.
func TestDeleteRacingSaves(t *testing.T) {
	t.Parallel()
	for _, m := range saveModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			g := newGroups(t, m, "")
			root := g.chain(1)[0]
			var (
				mu      sync.Mutex
				written []string
				saves   atomic.Int32
				wg      sync.WaitGroup
				deleted = make(chan struct{})
				over    atomic.Bool // the Delete has returned
			)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i, cur := 0, root; ; i++ {
						if i == 500 {
							t.Errorf("500 saves from a session that was deleted after 8")
							return
						}
						k := key(t)
						after := over.Load()
						err := g.trySet("session", k, "value of "+k, store.SetOptions{OldKey: cur})
						if errors.Is(err, session.ErrNotFound) && !errors.Is(err, session.ErrStore) {
							return
						}
						if err != nil {
							t.Errorf("Set: %v", err)
							return
						}
						if after {
							t.Errorf("a save from a record of a deleted session, started after the Delete returned, succeeded")
							return
						}
						mu.Lock()
						written = append(written, k)
						mu.Unlock()
						if saves.Add(1) == 8 {
							close(deleted)
						}
						cur = k
					}
				}()
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-deleted:
				g.del("session", root)
				over.Store(true)
			case <-done:
				t.Fatalf("the saves stopped after %d, before the Delete", saves.Load())
			}
			<-done
			for _, k := range written {
				g.gone("session", k, fmt.Sprintf("a record saved while the session was deleted (%d saves)", len(written)))
			}
		})
	}
}

// TestClusterRounds runs a Delete between the rounds of a cluster save, and
// a save between the rounds of a cluster Delete, each from a second
// application instance (its own client, the same prefix).
func TestClusterRounds(t *testing.T) {
	t.Parallel()
	m := modes[2]
	if m.name != "cluster" {
		t.Fatal("modes[2] is not the cluster")
	}
	// other returns the groups of a second instance on the same keys, and
	// arms a hook on g's client that runs fn once, right after the store's
	// op step has been answered.
	other := func(g *groups, op string, fn func()) *groups {
		h := &afterStep{op: op, fn: fn}
		h.armed.Store(true)
		g.c.AddHook(h)
		o := *g
		o.c = connect(g.t, m)
		o.s = mustNew(g.t, o.c, redisstore.WithPrefix(g.prefix))
		return &o
	}

	t.Run("delete between the rounds of a save", func(t *testing.T) {
		for _, step := range []string{"check", "write"} {
			g := newGroups(t, m, "")
			keys := g.chain(2)
			var o *groups
			o = other(g, step, func() { o.del("session", keys[1]) })
			k := key(t)
			wantNotFound(t, g.trySet("session", k, "value of "+k, store.SetOptions{OldKey: keys[1]}),
				"a save whose group was deleted after its "+step)
			for _, k := range append(keys, k) {
				g.gone("session", k, "after a Delete between the rounds of a save, after its "+step)
			}
		}
	})

	t.Run("delete of the partner after the save's check", func(t *testing.T) {
		g := newGroups(t, m, "")
		s := g.chain(1)[0]
		var o *groups
		o = other(g, "check", func() { o.del("session", s) })
		r := key(t)
		wantNotFound(t, g.trySet("remember", r, "value of "+r, store.SetOptions{Partner: partner(s)}),
			"a save whose partner was deleted after its check")
		g.gone("remember", r, "a record whose partner was deleted during its save")
	})

	t.Run("save before the delete reads the group", func(t *testing.T) {
		g := newGroups(t, m, "")
		keys := g.chain(2)
		k := key(t)
		var saveErr error
		var o *groups
		o = other(g, "drop", func() {
			saveErr = o.trySet("session", k, "value of "+k, store.SetOptions{OldKey: keys[0]})
		})
		g.del("session", keys[1])
		if saveErr != nil {
			t.Fatalf("a save from a stale record before the Delete ended the group: %v", saveErr)
		}
		for _, k := range append(keys, k) {
			g.gone("session", k, "after a save that joined the group before the Delete read it")
		}
	})

	t.Run("a delete cut short can be done again", func(t *testing.T) {
		g := newGroups(t, m, "")
		keys := g.chain(3)
		r := key(t)
		g.set("remember", r, store.SetOptions{Partner: partner(keys[2])})
		// The round that deletes the other members fails, as if their node
		// were down.
		h := &failStep{op: "drop", arg: "all", err: errors.New("injected: node down")}
		h.armed.Store(true)
		g.c.AddHook(h)
		opts := store.DeleteOptions{Now: g.now, Metadata: g.md}
		if err := g.s.Delete(g.ctx, "session", keys[2], opts); !errors.Is(err, session.ErrStore) {
			t.Fatalf("Delete with its third round failing: %v, want ErrStore", err)
		}
		g.alive("session", keys[2], "the deleted record, after its Delete failed before its last round")
		k := key(t)
		wantNotFound(t, g.trySet("session", k, "value of "+k, store.SetOptions{OldKey: keys[0]}),
			"a save from a member of a group whose Delete was cut short")
		g.del("session", keys[2])
		for _, k := range append(keys, k) {
			g.gone("session", k, "after the Delete was done again")
		}
		g.gone("remember", r, "the partner after the Delete was done again")
	})

	t.Run("save after the delete ended the group", func(t *testing.T) {
		g := newGroups(t, m, "")
		keys := g.chain(2)
		k := key(t)
		var saveErr error
		var o *groups
		o = other(g, "end", func() {
			saveErr = o.trySet("session", k, "value of "+k, store.SetOptions{OldKey: keys[0]})
		})
		g.del("session", keys[1])
		wantNotFound(t, saveErr, "a save from a stale record after the Delete ended the group")
		for _, k := range append(keys, k) {
			g.gone("session", k, "after a save into an ended group")
		}
	})
}

// afterStep is a go-redis hook that runs fn once, right after a call of the
// store script's operation op has been answered.
type afterStep struct {
	op    string
	fn    func()
	armed atomic.Bool
}

func (h *afterStep) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *afterStep) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.after(cmd)
		return err
	}
}

func (h *afterStep) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.after(cmds...)
		return err
	}
}

func (h *afterStep) after(cmds ...redis.Cmder) {
	for _, cmd := range cmds {
		if scriptOp(cmd) == h.op && h.armed.CompareAndSwap(true, false) {
			h.fn()
			return
		}
	}
}

// failStep is a go-redis hook that fails, once, the first call or pipeline
// with a call of the store script's operation op whose next argument is
// arg, without sending it.
type failStep struct {
	op, arg string
	err     error
	armed   atomic.Bool
}

func (h *failStep) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *failStep) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.fails(cmd) {
			return h.err
		}
		return next(ctx, cmd)
	}
}

func (h *failStep) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.fails(cmds...) {
			return h.err
		}
		return next(ctx, cmds)
	}
}

// fails reports whether cmds are to fail, and sets their error if so.
func (h *failStep) fails(cmds ...redis.Cmder) bool {
	for _, cmd := range cmds {
		if args := scriptArgs(cmd); len(args) > 1 && args[0] == h.op && args[1] == h.arg && h.armed.CompareAndSwap(true, false) {
			for _, c := range cmds {
				c.SetErr(h.err)
			}
			return true
		}
	}
	return false
}

// scriptOp returns the operation of a call of the store script, or "".
func scriptOp(cmd redis.Cmder) string {
	if args := scriptArgs(cmd); len(args) > 0 {
		op, _ := args[0].(string)
		return op
	}
	return ""
}

// scriptArgs returns the arguments after the keys of a call of the store
// script (the operation first), or nil.
func scriptArgs(cmd redis.Cmder) []any {
	args := cmd.Args()
	if len(args) < 3 {
		return nil
	}
	if name, _ := args[0].(string); !strings.EqualFold(name, "evalsha") && !strings.EqualFold(name, "eval") {
		return nil
	}
	n, _ := args[2].(int)
	if 3+n >= len(args) {
		return nil
	}
	return args[3+n:]
}
