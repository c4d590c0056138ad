package memcachedstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/sessiongo/session/core/store"
)

// outageClientTimeout is the client timeout of the outage tests: longer
// than the outage rule's margin past the request deadline (5 s).
const outageClientTimeout = time.Minute

// throwawayMemcached starts a memcached of the test's own on a spare port
// and returns its address and process; it is killed when the test ends. A
// port taken meanwhile by someone else (the server exits, or another one
// answers) is tried again with another port, twice.
func throwawayMemcached(t *testing.T) (string, *os.Process) {
	t.Helper()
	bin, err := exec.LookPath("memcached")
	if err != nil {
		unavailable(t, "memcached not installed")
	}
	for attempt := 1; ; attempt++ {
		addr, p, err := startMemcached(t, bin)
		if err == nil {
			return addr, p
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("%v; trying another port", err)
	}
}

// startMemcached starts memcached on a spare port and waits (at most 30 s)
// until it answers as itself (the pid in its stats).
func startMemcached(t *testing.T, bin string) (string, *os.Process, error) {
	t.Helper()
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
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		<-exited
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		pid, err := memcachedPid(addr)
		switch {
		case err == nil && pid == cmd.Process.Pid:
			return addr, cmd.Process, nil
		case err == nil:
			return "", nil, fmt.Errorf("another memcached (pid %d) answers on %s", pid, addr)
		case time.Now().After(deadline):
			t.Fatalf("throwaway memcached on %s did not start: %v", addr, err)
		}
		select {
		case <-exited:
			return "", nil, fmt.Errorf("throwaway memcached on %s exited: %v", addr, cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// memcachedPid asks the memcached on addr for its pid ("stats").
func memcachedPid(addr string) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(conn, "stats\r\n"); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(conn)
	pid := 0
	for sc.Scan() && sc.Text() != "END" {
		fmt.Sscanf(sc.Text(), "STAT pid %d", &pid)
	}
	if pid == 0 {
		return 0, fmt.Errorf("no pid in the stats of %s: %v", addr, sc.Err())
	}
	return pid, nil
}

// waitState waits until p is in one of states ("T": stopped by a signal,
// "Z": dead, waiting for its parent), or gone: a signal is delivered
// asynchronously, and a fast request could still be served in between. It
// fails the test after 30 s, as the test would then check a server that
// still works.
func waitState(t *testing.T, p *os.Process, states string) {
	t.Helper()
	stat := fmt.Sprintf("/proc/%d/stat", p.Pid)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return // gone
		}
		// the state follows the parenthesised command name: "pid (comm) T ..."
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && strings.IndexByte(states, b[i+2]) >= 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not reach state %q within 30s: %s", p.Pid, states, b)
		}
	}
}

// TestServerFailure stops or freezes the server under a working
// application: the conformance outage rule (opening and saving fail with
// ErrStore soon after the request's deadline, never a panic), and the
// store's own errors match ErrStore too. The client's own timeout is a
// minute, far past the rule's margin, so that a store that waited for it
// rather than for the context would fail.
func TestServerFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		breakIt func(t *testing.T, p *os.Process)
	}{
		{"stopped", func(t *testing.T, p *os.Process) { p.Kill(); waitState(t, p, "Z") }},
		{"frozen", func(t *testing.T, p *os.Process) { p.Signal(syscall.SIGSTOP); waitState(t, p, "T") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, proc := throwawayMemcached(t)
			c := memcache.New(addr)
			c.Timeout = outageClientTimeout
			defer c.Close()
			s := mustNew(t, c)
			conformance.TestStoreOutage(t, s, func() { tt.breakIt(t, proc) })
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if _, err := s.Get(ctx, "session", "key", store.GetOptions{}); !errors.Is(err, session.ErrStore) {
				t.Errorf("Get with the server %s: %v, want ErrStore", tt.name, err)
			}
		})
	}
}
