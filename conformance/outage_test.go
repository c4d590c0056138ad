package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// outageStore is a memory store whose "server" can be broken: once down,
// every call fails the way mode says.
type outageStore struct {
	*session.MemoryStore
	mode string
	down atomic.Bool
}

var errRefused = errors.New("connection refused")

func (s *outageStore) fail(ctx context.Context) error {
	if !s.down.Load() {
		return nil
	}
	switch s.mode {
	case "stopped":
		return fmt.Errorf("outage store: %w", errRefused)
	case "frozen": // waits for the request's deadline
		<-ctx.Done()
		return fmt.Errorf("outage store: %w", ctx.Err())
	case "ignores_deadline": // waits for a client timeout past the deadline and its slack
		time.Sleep(outageDeadline + outageSlack + time.Second)
		return fmt.Errorf("outage store: %w", errRefused)
	case "not_found":
		return fmt.Errorf("outage store: %w", session.ErrNotFound)
	case "panics":
		panic("outage store: nil connection")
	}
	return nil // "still_up": the server never went down
}

func (s *outageStore) Get(ctx context.Context, name, key string, o store.GetOptions) ([]byte, error) {
	if err := s.fail(ctx); err != nil {
		return nil, err
	}
	return s.MemoryStore.Get(ctx, name, key, o)
}

func (s *outageStore) Set(ctx context.Context, name, key string, v []byte, o store.SetOptions) error {
	if err := s.fail(ctx); err != nil {
		return err
	}
	return s.MemoryStore.Set(ctx, name, key, v, o)
}

func (s *outageStore) Delete(ctx context.Context, name, key string, o store.DeleteOptions) error {
	if err := s.fail(ctx); err != nil {
		return err
	}
	return s.MemoryStore.Delete(ctx, name, key, o)
}

func (s *outageStore) Sessions(ctx context.Context, name, aud, sub string, now time.Time) ([]store.IndexEntry, error) {
	if err := s.fail(ctx); err != nil {
		return nil, err
	}
	return s.MemoryStore.Sessions(ctx, name, aud, sub, now)
}

func runOutage(t *testing.T, mode string) {
	st := &outageStore{MemoryStore: newMemoryStore(t), mode: mode}
	TestStoreOutage(t, st, func() { st.down.Store(true) })
}

// TestStoreOutageStopped and TestStoreOutageFrozen run the rule on stores
// that behave: one fails at once, one when the context ends.
func TestStoreOutageStopped(t *testing.T) { t.Parallel(); runOutage(t, "stopped") }
func TestStoreOutageFrozen(t *testing.T)  { t.Parallel(); runOutage(t, "frozen") }

const outageEnv = "SESSIONGO_CONFORMANCE_OUTAGE_STORE"

// TestOutageHelper runs the rule on the misbehaving store named by the
// environment, in the subprocess that TestStoreOutageCatchesBadStores
// starts.
func TestOutageHelper(t *testing.T) {
	mode := os.Getenv(outageEnv)
	if mode == "" {
		t.Skip("runs in a subprocess of TestStoreOutageCatchesBadStores")
	}
	runOutage(t, mode)
}

var outageResult = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL): TestOutageHelper/(\S+)`)

// TestStoreOutageCatchesBadStores checks that the rule fails the steps a
// misbehaving store breaks, and only those.
func TestStoreOutageCatchesBadStores(t *testing.T) {
	if os.Getenv(outageEnv) != "" {
		t.Skip("inside the subprocess")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	all := []string{"open", "save", "destroy", "manager_sessions", "manager_revoke_sessions", "store_get", "store_set", "store_delete"}
	tests := []struct {
		mode     string
		mustFail []string
	}{
		// The server never went down: every call succeeds.
		{"still_up", all},
		// Every call waits a second past the deadline and its slack.
		{"ignores_deadline", all},
		// A down server reported as a missing record.
		{"not_found", []string{"open", "destroy", "store_get", "store_set", "store_delete"}},
		{"panics", all},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(exe, "-test.run=^TestOutageHelper$", "-test.v", "-test.count=1", "-test.timeout=1m")
			cmd.Env = append(os.Environ(), outageEnv+"="+tt.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the rule passed a store that %s:\n%s", tt.mode, out)
			}
			results := map[string]string{}
			for _, m := range outageResult.FindAllStringSubmatch(string(out), -1) {
				results[m[2]] = m[1]
			}
			for _, step := range tt.mustFail {
				if results[step] != "FAIL" {
					t.Errorf("step %s: %q, want FAIL for a store that %s", step, results[step], tt.mode)
				}
			}
			if t.Failed() {
				t.Logf("subprocess output:\n%s", out)
			}
		})
	}
}
