package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// spareAddr returns a loopback address with a port nobody listens on.
func spareAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// throwawayRedis starts a redis-server of the test's own on a spare port
// and returns its address and process; it is killed when the test ends. A
// port taken meanwhile by someone else (the server exits, or another one
// answers) is tried again with another port, twice.
func throwawayRedis(t *testing.T) (string, *os.Process) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server not installed")
	}
	for attempt := 1; ; attempt++ {
		addr, p, err := startRedis(t, bin)
		if err == nil {
			return addr, p
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("%v; trying another port", err)
	}
}

// startRedis starts redis-server on a spare port and waits (at most 30 s)
// until it answers as itself (INFO's process_id).
func startRedis(t *testing.T, bin string) (string, *os.Process, error) {
	t.Helper()
	addr := spareAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--daemonize", "no")
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
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ours := fmt.Sprintf("process_id:%d\r\n", cmd.Process.Pid)
	for deadline := time.Now().Add(30 * time.Second); ; {
		info, err := c.Info(context.Background(), "server").Result()
		switch {
		case err == nil && strings.Contains(info, ours):
			return addr, cmd.Process, nil
		case err == nil:
			return "", nil, fmt.Errorf("another redis-server answers on %s", addr)
		case time.Now().After(deadline):
			t.Fatalf("throwaway redis-server on %s did not start: %v", addr, err)
		}
		select {
		case <-exited:
			return "", nil, fmt.Errorf("throwaway redis-server on %s exited: %v", addr, cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
	}
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
// store's own errors match ErrStore too. The client's own timeouts are a
// minute, far past the rule's margin, so that a store that waited for them
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
			addr, proc := throwawayRedis(t)
			c := redis.NewClient(&redis.Options{
				Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1,
				DialTimeout: time.Minute, ReadTimeout: time.Minute, WriteTimeout: time.Minute, PoolTimeout: time.Minute,
			})
			defer c.Close()
			s := mustNew(t, c)
			conformance.TestStoreOutage(t, s, func() { tt.breakIt(t, proc) })
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			if _, err := s.Get(ctx, "session", "key", store.GetOptions{}); !errors.Is(err, session.ErrStore) {
				t.Errorf("Get with the server %s: %v, want ErrStore", tt.name, err)
			}
		})
	}
}

// TestSentinelFailover freezes the master of the dedicated Sentinel group
// (SESSIONGO_REDIS_FAILOVER_MASTER) with DEBUG SLEEP 5 (again, until the
// Sentinels act), which the Sentinels cannot tell from a dead server: they
// promote the replica. Sessions saved
// before, with WithWaitReplicas(1, ...) so that the replica had
// acknowledged them, must still open through the same failover client, and
// new saves must work. The old master wakes up and rejoins as a replica,
// so the group stays usable for the next run.
func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes several seconds")
	}
	t.Parallel()
	ctx := context.Background()
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: sentinelAddrs[0]})
	defer sentinel.Close()
	masterAddr := func() string {
		addr, err := sentinel.GetMasterAddrByName(ctx, failoverMaster).Result()
		if err != nil {
			return ""
		}
		return net.JoinHostPort(addr[0], addr[1])
	}
	if masterAddr() == "" {
		unavailable(t, "no Sentinel on %s knows master %q", sentinelAddrs[0], failoverMaster)
	}
	// A previous run may have left the old master rejoining: wait until
	// the master has its replica again.
	healthy := func() bool {
		addr := masterAddr()
		if addr == "" {
			return false
		}
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		info, err := c.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "role:master") && strings.Contains(info, ",state=online,")
	}
	waitFor(t, time.Minute, "the failover group to have a master with a replica", healthy)

	client := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: failoverMaster, SentinelAddrs: sentinelAddrs, ContextTimeoutEnabled: true,
		DialTimeout: testTimeout, ReadTimeout: testTimeout, WriteTimeout: testTimeout, PoolTimeout: testTimeout,
	})
	defer client.Close()
	prefix := testPrefix(t, client)
	// WAIT returns as soon as the replica acknowledges; 30 s is for a busy
	// machine.
	a := newApp(t, mustNew(t, client, redisstore.WithPrefix(prefix), redisstore.WithWaitReplicas(1, 30*time.Second)))
	cookies := make([]*http.Cookie, 5)
	for i := range cookies {
		c, err := a.login(ctx, fmt.Sprintf("user%d", i))
		if err != nil {
			t.Fatalf("login before the failover: %v", err)
		}
		cookies[i] = c
	}

	old := masterAddr()
	sleeper := redis.NewClient(&redis.Options{Addr: old, ReadTimeout: -1})
	defer sleeper.Close()
	promoted := func() bool {
		addr := masterAddr()
		return addr != "" && addr != old
	}
	// The Sentinels take a second or two to agree that the master is down
	// and promote the replica; on a busy machine one 5 s freeze may not be
	// enough, so the master is frozen again, up to a minute in all.
	for deadline := time.Now().Add(time.Minute); !promoted(); {
		if time.Now().After(deadline) {
			t.Fatal("timed out after 1m0s waiting for the Sentinels to promote the replica")
		}
		awake := make(chan struct{})
		go func() {
			defer close(awake)
			sleeper.Do(context.Background(), "DEBUG", "SLEEP", "5") // frozen for 5 s
		}()
		for frozen := true; frozen && !promoted(); {
			select {
			case <-awake:
				frozen = false
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	for i, c := range cookies {
		var body string
		var err error
		waitFor(t, time.Minute, "the failover client to reach the new master", func() bool {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			body, err = a.read(rctx, c)
			return !errors.Is(err, session.ErrStore)
		})
		if want := fmt.Sprintf("user%d <nil>", i); err != nil || body != want {
			t.Fatalf("session %d after the failover: %q, %v; want %q", i, body, err, want)
		}
	}
	// The new master has no replica until the old one wakes up: saves
	// work, but only without waiting for a replica.
	unacked := newApp(t, mustNew(t, client, redisstore.WithPrefix(prefix)))
	if _, err := unacked.modify(ctx, cookies[0]); err != nil {
		t.Fatalf("save after the failover: %v", err)
	}
	// The old master rejoins as a replica (which also leaves the group
	// healthy for the next run); acknowledged saves work again.
	waitFor(t, time.Minute, "the old master to rejoin as a replica", healthy)
	if _, err := a.modify(ctx, cookies[1]); err != nil {
		t.Fatalf("acknowledged save after the old master rejoined: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after max.
func waitFor(t *testing.T, max time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(max)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", max, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWaitReplicas checks that WithWaitReplicas fails a save that no
// replica acknowledged: the single test Redis has none.
func TestWaitReplicas(t *testing.T) {
	t.Parallel()
	c := connect(t, modes[0])
	if info, _ := c.Info(context.Background(), "replication").Result(); !strings.Contains(info, "connected_slaves:0") {
		t.Skipf("%s has replicas", singleAddr)
	}
	s := mustNew(t, c, redisstore.WithPrefix(testPrefix(t, c)), redisstore.WithWaitReplicas(1, 100*time.Millisecond))
	// A new record (a pipeline without a script), then one that replaces
	// it (the save script).
	err := s.Set(context.Background(), "session", "key", []byte("v"), store.SetOptions{TTL: time.Minute})
	if !errors.Is(err, session.ErrStore) {
		t.Fatalf("save that no replica acknowledged: %v, want ErrStore", err)
	}
	err = s.Set(context.Background(), "session", "key2", []byte("v"), store.SetOptions{TTL: time.Minute, OldKey: "key"})
	if !errors.Is(err, session.ErrStore) {
		t.Fatalf("rotation that no replica acknowledged: %v, want ErrStore", err)
	}
}

// TestWaitReplicasAcked checks that WithWaitReplicas lets a save return once
// the Sentinel master's replica acknowledged it: a new record (a pipeline
// without a script) and one that replaces it (the save script).
func TestWaitReplicasAcked(t *testing.T) {
	t.Parallel()
	c := connect(t, modes[1])
	s := mustNew(t, c, redisstore.WithPrefix(testPrefix(t, c)), redisstore.WithWaitReplicas(1, 30*time.Second))
	ctx := context.Background()
	first, second := key(t), key(t)
	if err := s.Set(ctx, "session", first, []byte("v"), store.SetOptions{TTL: time.Minute}); err != nil {
		t.Fatalf("new record: %v", err)
	}
	if err := s.Set(ctx, "session", second, []byte("v2"), store.SetOptions{TTL: time.Minute, OldKey: first}); err != nil {
		t.Fatalf("rotation: %v", err)
	}
	if v, err := s.Get(ctx, "session", second, store.GetOptions{}); err != nil || string(v) != "v2" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}
