package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/session/core/store"
)

// outageRevoker is a memory store serving as a revocation backend whose
// "server" can be broken: once down, every call behaves the way mode says.
type outageRevoker struct {
	store.Revoker
	mode  string
	down  atomic.Bool
	slept atomic.Bool
}

// fail returns the error of a call with the server down; answered reports
// that the call must instead answer as if nothing were marked (and write
// nothing).
func (r *outageRevoker) fail(ctx context.Context) (answered bool, err error) {
	if !r.down.Load() {
		return false, nil
	}
	switch r.mode {
	case "stopped":
		return false, fmt.Errorf("outage revoker: %w", errRefused)
	case "frozen": // waits for the request's deadline
		<-ctx.Done()
		return false, fmt.Errorf("outage revoker: %w", ctx.Err())
	case "ignores_deadline_once": // the first call waits past the deadline and its slack
		if !r.slept.Swap(true) {
			time.Sleep(outageDeadline + outageSlack + time.Second)
		}
		return false, fmt.Errorf("outage revoker: %w", errRefused)
	case "answers_none": // a down server taken for "no mark"
		return true, nil
	case "panics":
		panic("outage revoker: nil connection")
	}
	return false, nil // "still_up": the server never went down
}

func (r *outageRevoker) Revoke(ctx context.Context, marks []store.Mark, now time.Time) error {
	if answered, err := r.fail(ctx); answered || err != nil {
		return err
	}
	return r.Revoker.Revoke(ctx, marks, now)
}

func (r *outageRevoker) Revoked(ctx context.Context, keys []string, now time.Time) ([]time.Time, error) {
	if answered, err := r.fail(ctx); answered {
		return make([]time.Time, len(keys)), nil
	} else if err != nil {
		return nil, err
	}
	return r.Revoker.Revoked(ctx, keys, now)
}

func runRevocationOutage(t *testing.T, mode string) {
	r := &outageRevoker{Revoker: newMemoryStore(t), mode: mode}
	TestRevocationOutage(t, r, func() { r.down.Store(true) })
}

// TestRevocationOutageStopped and TestRevocationOutageFrozen run the rule
// on backends that behave: one fails at once, one when the context ends.
func TestRevocationOutageStopped(t *testing.T) { t.Parallel(); runRevocationOutage(t, "stopped") }
func TestRevocationOutageFrozen(t *testing.T)  { t.Parallel(); runRevocationOutage(t, "frozen") }

const revocationOutageEnv = "SESSIONGO_CONFORMANCE_REVOCATION_OUTAGE"

// TestRevocationOutageHelper runs the rule on the misbehaving backend
// named by the environment, in the subprocess that
// TestRevocationOutageCatchesBadBackends starts.
func TestRevocationOutageHelper(t *testing.T) {
	mode := os.Getenv(revocationOutageEnv)
	if mode == "" {
		t.Skip("runs in a subprocess of TestRevocationOutageCatchesBadBackends")
	}
	runRevocationOutage(t, mode)
}

var revocationOutageResult = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL): TestRevocationOutageHelper/(\S+)`)

// TestRevocationOutageCatchesBadBackends checks that the rule fails the
// steps a misbehaving backend breaks, and passes the others.
func TestRevocationOutageCatchesBadBackends(t *testing.T) {
	if os.Getenv(revocationOutageEnv) != "" {
		t.Skip("inside the subprocess")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	// The steps that reach the backend with the server broken.
	reaching := []string{"destroy_fail_closed", "open_fail_closed", "open_fail_open", "destroy_fail_open",
		"revoke_fail_closed", "revoke_sessions_fail_closed", "revoke_fail_open", "revoke_sessions_fail_open",
		"error_cached_1", "error_cache_expired", "cache_expired_broken"}
	tests := []struct {
		mode     string
		mustFail []string
		mustPass []string
	}{
		// The server never went down, or a down server is taken for a
		// backend without marks: nothing fails, no warning is logged.
		{"still_up", append(reaching, "error_cached_2", "error_cached_3"), []string{"cache_hit_broken", "cache_hit_broken_later"}},
		{"answers_none", append(reaching, "error_cached_2", "error_cached_3"), []string{"cache_hit_broken", "cache_hit_broken_later"}},
		// A panic is never cached: every call that reaches the backend panics.
		{"panics", append(reaching, "error_cached_2", "error_cached_3"), []string{"cache_hit_broken", "cache_hit_broken_later"}},
		// The first call after the break waits past the deadline's slack.
		{"ignores_deadline_once", []string{"destroy_fail_closed"}, []string{"open_fail_closed", "open_fail_open", "destroy_fail_open", "error_cached_1", "cache_expired_broken"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(exe, "-test.run=^TestRevocationOutageHelper$", "-test.v", "-test.count=1", "-test.timeout=1m")
			cmd.Env = append(os.Environ(), revocationOutageEnv+"="+tt.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the rule passed a backend that %s:\n%s", tt.mode, out)
			}
			results := map[string]string{}
			for _, m := range revocationOutageResult.FindAllStringSubmatch(string(out), -1) {
				results[m[2]] = m[1]
			}
			for _, step := range tt.mustFail {
				if results[step] != "FAIL" {
					t.Errorf("step %s: %q, want FAIL for a backend that %s", step, results[step], tt.mode)
				}
			}
			for _, step := range tt.mustPass {
				if results[step] != "PASS" {
					t.Errorf("step %s: %q, want PASS for a backend that %s", step, results[step], tt.mode)
				}
			}
			if t.Failed() {
				t.Logf("subprocess output:\n%s", out)
			}
		})
	}
}
