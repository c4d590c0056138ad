// Package exampleapp builds and runs the example app of examples/nethttp
// on a store of the harness's choosing, in a process of its own, for the
// load-and-fault harness and the browser test:
//
//	import "github.com/sessiongo/session/internal/loadtest/exampleapp"
//
// The example's source is not changed: Build compiles examples/nethttp with
// one more file (go build -overlay), which, when the process is started
// with SESSIONGO_LOADAPP set, serves the example's own handler (newHandler)
// with the example's own configuration (newConfig) on the store named by the
// environment (see Config). The example's main runs otherwise.
package exampleapp

import (
	"bufio"
	"context"
	_ "embed" // the overlay file
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed testdata/zz_loadapp.go
var overlaySource []byte

// ErrNoWorkspace is returned by Build when no go.work is found above the
// directory it searches from.
var ErrNoWorkspace = errors.New("exampleapp: no go.work above the working directory")

// FindRoot returns the repository root: the nearest directory at or above
// dir that holds go.work.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoWorkspace
		}
		dir = parent
	}
}

// Build compiles examples/nethttp of the repository at root, with the
// harness's file added, into dir, and returns the binary's path. It uses
// root's go.work, whatever GOWORK says, since the added file imports the
// stores.
func Build(ctx context.Context, root, dir string) (string, error) {
	src := filepath.Join(dir, "zz_loadapp.go")
	if err := os.WriteFile(src, overlaySource, 0o644); err != nil {
		return "", err
	}
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(root, "examples", "nethttp", "zz_loadapp.go"): src},
	})
	if err != nil {
		return "", err
	}
	ovl := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovl, overlay, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "loadapp")
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-overlay", ovl, "-o", bin, "./examples/nethttp")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("exampleapp: go build: %w\n%s", err, out)
	}
	return bin, nil
}

// Config says how Start runs the app. Each field is passed to the process
// as an environment variable.
type Config struct {
	// Store is memory, redis, sentinel, cluster, memcached, postgres,
	// mariadb or sqlite.
	Store string
	// Target is the store's address: host:port (redis, memcached),
	// master@host:port,... (sentinel), host:port,... (cluster), a DSN
	// (postgres, mariadb) or a file name (sqlite).
	Target string
	// Prefix keeps this run's keys (or tables) apart: the stores' key
	// prefix, or the SQL table name.
	Prefix string
	// Mode is "cookie" (the example as documented: sessions in the
	// cookie, revocation in the store) or "server" (sessions in the
	// store, Config.Store).
	Mode string
	// WaitReplicas, above 0, makes Sentinel saves wait for that many
	// replicas (redisstore.WithWaitReplicas).
	WaitReplicas int
	// Addr is the listen address; empty means 127.0.0.1:0.
	Addr string
	// TLSCert and TLSKey, both set, serve HTTPS with Secure cookies.
	TLSCert, TLSKey string
	// HostPrefix names the cookies __Host-session and __Host-remember.
	HostPrefix bool
	// Secret is the session secret; empty means a random one.
	Secret string
	// Log receives the app's standard error (its warnings and errors);
	// nil discards it.
	Log io.Writer
}

func (c Config) env() []string {
	env := []string{
		"SESSIONGO_LOADAPP=1",
		"SESSIONGO_LOADAPP_STORE=" + c.Store,
		"SESSIONGO_LOADAPP_TARGET=" + c.Target,
		"SESSIONGO_LOADAPP_PREFIX=" + c.Prefix,
		"SESSIONGO_LOADAPP_MODE=" + c.Mode,
		"SESSIONGO_LOADAPP_WAIT_REPLICAS=" + strconv.Itoa(c.WaitReplicas),
		"SESSIONGO_LOADAPP_ADDR=" + c.Addr,
		"SESSIONGO_LOADAPP_TLS_CERT=" + c.TLSCert,
		"SESSIONGO_LOADAPP_TLS_KEY=" + c.TLSKey,
		"SESSIONGO_LOADAPP_SECRET=" + c.Secret,
	}
	if c.HostPrefix {
		env = append(env, "SESSIONGO_LOADAPP_COOKIE_PREFIX=host")
	}
	return env
}

// App is a running app process.
type App struct {
	// Addr is the address it listens on (host:port).
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit, once done is closed

	stopOnce sync.Once
}

// Start runs the binary bin (from Build) with cfg and waits, at most 60 s,
// until it listens.
func Start(ctx context.Context, bin string, cfg Config) (*App, error) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), cfg.env()...)
	cmd.Stderr = cfg.Log
	if cmd.Stderr == nil {
		cmd.Stderr = io.Discard
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &App{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				select {
				case addr <- rest:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		a.err = cmd.Wait()
		close(a.done)
	}()
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case a.Addr = <-addr:
		return a, nil
	case <-a.done:
		return nil, fmt.Errorf("exampleapp: the app (%s) exited before listening: %v", cfg.Store, a.err)
	case <-timer.C:
	case <-ctx.Done():
	}
	a.Stop()
	return nil, fmt.Errorf("exampleapp: the app (%s) did not listen within 60 s", cfg.Store)
}

// Pid returns the process id.
func (a *App) Pid() int { return a.cmd.Process.Pid }

// Stop ends the process (SIGTERM, then SIGKILL after 10 s) and waits for
// it. It returns the process's error, if it exited with one.
func (a *App) Stop() error {
	a.stopOnce.Do(func() {
		a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(10 * time.Second):
			a.cmd.Process.Kill()
			<-a.done
		}
	})
	<-a.done
	var exit *exec.ExitError
	if errors.As(a.err, &exit) && !exit.Exited() { // killed by a signal
		return fmt.Errorf("exampleapp: the app was killed: %w", a.err)
	}
	return a.err
}

// Exited reports whether the process has ended.
func (a *App) Exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// Mem is the app's memory, as the harness reports it.
type Mem struct {
	// RSS is the resident set size of the process (VmRSS), in bytes.
	RSS uint64
	// HeapInuse is the Go heap in use after a garbage collection, in bytes.
	HeapInuse uint64 `json:"heap_inuse"`
	// Goroutines is the number of goroutines.
	Goroutines uint64 `json:"goroutines"`
}

// Mem reads the app's memory: the resident set from /proc and the Go heap
// from the app's /debug/loadapp (over c, at base, "http://host:port").
func (a *App) Mem(ctx context.Context, c *http.Client, base string) (Mem, error) {
	var m Mem
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/loadapp", nil)
	if err != nil {
		return m, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("exampleapp: /debug/loadapp: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return m, err
	}
	rss, err := ReadRSS(a.Pid())
	m.RSS = rss
	return m, err
}

// ReadRSS returns the resident set size (VmRSS) of process pid, in bytes.
func ReadRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseRSS(string(b))
}

// parseRSS reads VmRSS from the text of /proc/PID/status.
func parseRSS(status string) (uint64, error) {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				break
			}
			kb, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				break
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("exampleapp: no VmRSS in /proc status")
}
