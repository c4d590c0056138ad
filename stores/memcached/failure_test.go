package memcachedstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
)

// throwawayMemcached starts a memcached of the test's own on a spare port
// and returns its address and process; it is killed when the test ends.
func throwawayMemcached(t *testing.T) (string, *os.Process) {
	t.Helper()
	bin, err := exec.LookPath("memcached")
	if err != nil {
		unavailable(t, "memcached not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"-l", "127.0.0.1", "-p", port, "-U", "0", "-m", "16"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	c := memcache.New(addr)
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("throwaway memcached on %s did not start", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Close()
	return addr, cmd.Process
}

// waitStopped waits (a bounded time) until p is in the stopped state: a
// signal is delivered asynchronously, and a fast request could still be
// served in between.
func waitStopped(p *os.Process) {
	stat := fmt.Sprintf("/proc/%d/stat", p.Pid)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return
		}
		// the state follows the parenthesised command name: "pid (comm) T ..."
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
	}
}

// TestServerFailure stops or freezes the server under a working
// application: the conformance outage rule (opening and saving fail with
// ErrStore within the request's deadline, shorter than the client's own
// 500 ms timeout, never a panic), and the store's own errors match ErrStore
// too.
func TestServerFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		breakIt func(p *os.Process)
	}{
		{"stopped", func(p *os.Process) { p.Kill() }},
		{"frozen", func(p *os.Process) { p.Signal(syscall.SIGSTOP); waitStopped(p) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, proc := throwawayMemcached(t)
			c := memcache.New(addr)
			defer c.Close()
			s := memcachedstore.New(c)
			conformance.TestStoreOutage(t, s, func() { tt.breakIt(proc) })
			if _, err := s.Get(context.Background(), "session", "key", session.GetOptions{}); !errors.Is(err, session.ErrStore) {
				t.Errorf("Get with the server %s: %v, want ErrStore", tt.name, err)
			}
		})
	}
}
