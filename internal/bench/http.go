package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
	chisession "github.com/sessiongo/session/adapters/chi"
	session "github.com/sessiongo/session/core"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// HTTPOptions configures RunHTTP.
type HTTPOptions struct {
	// Rounds is how many turns each session route gets (default 10), each
	// between two turns of the bare server.
	Rounds int
	// Duration is how long each turn lasts (default 1s).
	Duration time.Duration
	// Workers is how many requests are in flight at once (default 8).
	Workers int
	// Progress, when set, receives a line per turn.
	Progress io.Writer
	// Routes are the session routes measured, "value" and "typed" (the
	// default, both).
	Routes []string
	// Labels runs each server's goroutines under the pprof label server
	// ("bare" or "session"), each request's handler under server and path,
	// and each turn's client under the label turn, so that a CPU profile
	// of the run tells them apart. It costs the servers an allocation or
	// two per request.
	Labels bool
}

// HTTPStat is what one server served, the median of its turns.
type HTTPStat struct {
	Name     string
	Rate     float64 // successful requests per second
	P50, P99 time.Duration
	Share    float64 // Rate over the bare server's, the median of the rounds' ratios
	// ShareMin and ShareMax are the lowest and highest of the rounds'
	// ratios.
	ShareMin, ShareMax float64
	// CPU is the process's CPU time (client and servers, user and system)
	// per request; CPUShare the bare turns' CPU per request over this
	// route's, the median of the rounds' ratios. CPU time depends far less
	// than the rate on what else the machine runs. Both are 0 where the
	// process's CPU time is not read.
	CPU      time.Duration
	CPUShare float64
	Requests uint64 // in all turns
}

// HTTPResults are the bare server's numbers and the session server's, for
// a read of one value and for the example page's typed reads.
type HTTPResults struct {
	Bare, Value, Typed HTTPStat
	Rounds             int
	Workers            int
	Duration           time.Duration
}

// Profile is the signed-in user's profile, as the chi example keeps it.
type Profile struct {
	Name  string
	ID    int64
	Since time.Time
	Roles []string
}

var alice = Profile{
	Name:  "Alice Archer",
	ID:    9007199254740993,
	Since: time.Date(2019, time.March, 14, 15, 9, 26, 535897932, time.FixedZone("", 2*60*60)),
	Roles: []string{"admin", "editor"},
}

// exampleManager is the chi example's session setup: cookie storage,
// remember-me, revocation in a memory store, plain HTTP on loopback.
func exampleManager() (*session.Manager, error) {
	revocations, err := session.NewMemoryStore()
	if err != nil {
		return nil, err
	}
	return session.New(session.Config{
		Secret:        "benchmark-secret",
		Remember:      true,
		Revocation:    revocations,
		DisableSecure: true,
	})
}

// httpHandlers returns the bare router and the session router: the same
// chi router and pages, the second behind the example's middleware. Its
// "/" reads what the example's page reads, typed (the profile, a struct,
// and the visit counter, through session.Get); its "/value" reads one
// value as it is (Session.Get). The bare router answers both with the same
// text, read from nowhere.
func httpHandlers(m *session.Manager) (bare, withSession http.Handler) {
	b := chi.NewRouter()
	page := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s (%d visits)\n", alice.Name, int64(0))
	}
	b.Get("/", page)
	b.Get("/value", page)
	s := chi.NewRouter()
	s.Use(chisession.Middleware(m))
	s.Get("/", func(w http.ResponseWriter, r *http.Request) {
		sess := chisession.From(r)
		if sess.Subject() == "" {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		p, err := session.Get[Profile](sess, "profile")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		visits, err := session.Get[int64](sess, "visits")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "Hello, %s (%d visits)\n", p.Name, visits)
	})
	s.Get("/value", func(w http.ResponseWriter, r *http.Request) {
		sess := chisession.From(r)
		if sess.Subject() == "" {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "Hello, %s (%v visits)\n", alice.Name, sess.Get("visits"))
	})
	s.Get("/login", func(w http.ResponseWriter, r *http.Request) {
		sess := chisession.From(r)
		sess.SetSubject("alice")
		sess.SetRemember(true)
		sess.SetRevocationKeys("login:" + rand.Text())
		sess.Set("profile", alice)
		sess.Set("visits", int64(0))
		if err := sess.Renew(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return b, s
}

// serve serves h on a loopback port until ctx ends; it returns the URL.
// With labels, its goroutines run under the pprof label server (name),
// and each request's handler under server and path.
func serve(ctx context.Context, name string, h http.Handler, labels bool) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	if labels {
		// The connections' goroutines inherit the server label from the
		// serving goroutine, and their requests' contexts carry it, so
		// that it stays once a handler's labels are dropped.
		srv.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
			return pprof.WithLabels(ctx, pprof.Labels("server", name))
		}
		srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pprof.Do(r.Context(), pprof.Labels("path", r.URL.Path), func(context.Context) {
				h.ServeHTTP(w, r)
			})
		})
	}
	go func() {
		if labels {
			pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("server", name)))
		}
		srv.Serve(ln)
	}()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return "http://" + ln.Addr().String() + "/", nil
}

// login signs alice in on the session handler and returns the Cookie
// header of the browser afterwards.
func login(h http.Handler) (string, error) {
	c := newClient(h)
	c.base.URL.Path = "/login"
	if err := c.do(true); err != nil {
		return "", err
	}
	if len(c.jar.cookies) < 2 {
		return "", errors.New("login: no session and remember cookies")
	}
	return c.jar.header(), nil
}

// RunHTTP serves the bare and the session routers on loopback and drives
// them with vegeta at full speed, in turns.
func RunHTTP(ctx context.Context, opts HTTPOptions) (*HTTPResults, error) {
	if opts.Rounds <= 0 {
		opts.Rounds = 10
	}
	if opts.Duration <= 0 {
		opts.Duration = time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	m, err := exampleManager()
	if err != nil {
		return nil, err
	}
	bare, withSession := httpHandlers(m)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bareURL, err := serve(ctx, "bare", bare, opts.Labels)
	if err != nil {
		return nil, err
	}
	sessionURL, err := serve(ctx, "session", withSession, opts.Labels)
	if err != nil {
		return nil, err
	}
	attack := func(name, url string) (httpTurn, error) {
		// Every turn signs in afresh, as a browser's cookie is never older
		// than the session's touch threshold (a minute): a static cookie
		// that old would be touched, and a Set-Cookie line sent, on every
		// request of a long run. Bare turns send such a cookie too.
		cookie, err := login(withSession)
		if err != nil {
			return httpTurn{}, err
		}
		hdr := http.Header{"Cookie": {cookie}}
		// An Attacker stops for good when its attack ends: one per turn.
		atk := vegeta.NewAttacker(
			vegeta.Workers(uint64(opts.Workers)), vegeta.MaxWorkers(uint64(opts.Workers)),
			vegeta.Connections(opts.Workers), vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second))
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: url, Header: hdr})
		var mt vegeta.Metrics
		cpu := processCPU()
		run := func(context.Context) {
			for res := range atk.Attack(tr, vegeta.Rate{Freq: 0}, opts.Duration, name) {
				mt.Add(res)
			}
		}
		if opts.Labels {
			pprof.Do(ctx, pprof.Labels("turn", name), run)
		} else {
			run(ctx)
		}
		cpu = processCPU() - cpu
		mt.Close()
		if mt.Success < 1 {
			return httpTurn{}, fmt.Errorf("%s: %.2f%% of requests succeeded: %v", name, 100*mt.Success, mt.Errors)
		}
		if mt.Requests == 0 {
			return httpTurn{}, fmt.Errorf("%s: no requests", name)
		}
		return httpTurn{&mt, cpu / time.Duration(mt.Requests)}, nil
	}
	// Turns alternate: bare, value, bare, typed, bare, ... Each session
	// turn is compared with the mean of the bare turns on either side of
	// it, which meet about the same load on a busy machine.
	type turn struct {
		name, url string
	}
	routes := map[string]string{"value": sessionURL + "value", "typed": sessionURL}
	if len(opts.Routes) == 0 {
		opts.Routes = []string{"value", "typed"}
	}
	for _, r := range opts.Routes {
		if routes[r] == "" {
			return nil, fmt.Errorf("unknown HTTP route %q (want value or typed)", r)
		}
	}
	bareTurn := turn{"bare", bareURL}
	seq := []turn{bareTurn}
	for range opts.Rounds {
		for _, r := range opts.Routes {
			seq = append(seq, turn{r, routes[r]}, bareTurn)
		}
	}
	runs := make([]httpTurn, len(seq))
	for i, tg := range seq {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := attack(tg.name, tg.url)
		if err != nil {
			return nil, err
		}
		runs[i] = r
		if opts.Progress != nil {
			fmt.Fprintf(opts.Progress, "http turn %d/%d  %-6s %8.0f req/s  p50 %v  p99 %v  CPU/request %v\n",
				i+1, len(seq), tg.name, r.m.Throughput, r.m.Latencies.P50, r.m.Latencies.P99, r.cpu)
		}
	}
	byName := map[string][]httpTurn{}
	shares := map[string][]float64{}
	cpuShares := map[string][]float64{}
	for i, tg := range seq {
		r := runs[i]
		byName[tg.name] = append(byName[tg.name], r)
		if tg.name == "bare" {
			continue
		}
		before, after := runs[i-1], runs[i+1]
		shares[tg.name] = append(shares[tg.name], 2*r.m.Throughput/(before.m.Throughput+after.m.Throughput))
		if r.cpu > 0 {
			cpuShares[tg.name] = append(cpuShares[tg.name], float64(before.cpu+after.cpu)/float64(2*r.cpu))
		}
	}
	res := &HTTPResults{Rounds: opts.Rounds, Workers: opts.Workers, Duration: opts.Duration}
	res.Bare = httpStat("bare handler", byName["bare"], nil, nil)
	res.Bare.Share, res.Bare.ShareMin, res.Bare.ShareMax = 1, 1, 1
	if res.Bare.CPU > 0 {
		res.Bare.CPUShare = 1
	}
	res.Value = httpStat("session middleware: open + read a value", byName["value"], shares["value"], cpuShares["value"])
	res.Typed = httpStat("session middleware: open + the example page's typed reads", byName["typed"], shares["typed"], cpuShares["typed"])
	return res, nil
}

// httpTurn is what one turn measured: vegeta's metrics, and the process's
// CPU time per request.
type httpTurn struct {
	m   *vegeta.Metrics
	cpu time.Duration
}

func httpStat(name string, turns []httpTurn, shares, cpuShares []float64) HTTPStat {
	var rates, p50, p99, cpu []float64
	var n uint64
	for _, t := range turns {
		rates = append(rates, t.m.Throughput)
		p50 = append(p50, float64(t.m.Latencies.P50))
		p99 = append(p99, float64(t.m.Latencies.P99))
		cpu = append(cpu, float64(t.cpu))
		n += t.m.Requests
	}
	st := HTTPStat{Name: name, Rate: median(rates), P50: time.Duration(median(p50)), P99: time.Duration(median(p99)),
		CPU: time.Duration(median(cpu)), Requests: n}
	if len(shares) > 0 {
		st.Share, st.ShareMin, st.ShareMax = median(shares), slices.Min(shares), slices.Max(shares)
	}
	if len(cpuShares) > 0 {
		st.CPUShare = median(cpuShares)
	}
	return st
}

// WriteMarkdown writes the HTTP table.
func (r *HTTPResults) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "HTTP on loopback, vegeta at full speed with %d workers, %d turns of %v for each session route between turns of the bare one (medians; the shares compare each turn with the bare turns on either side, lowest and highest in brackets; CPU is the process's, client and servers, per request):\n\n",
		r.Workers, r.Rounds, r.Duration)
	fmt.Fprintln(w, "| chi router | requests/s | p50 | p99 | share of bare | CPU per request | share of bare by CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, s := range []HTTPStat{r.Bare, r.Value, r.Typed} {
		if s.Requests == 0 {
			continue // a route not measured
		}
		share := fmt.Sprintf("%.0f%%", 100*s.Share)
		if s.ShareMin != s.ShareMax {
			share += fmt.Sprintf(" (%.0f–%.0f%%)", 100*s.ShareMin, 100*s.ShareMax)
		}
		cpu, cpuShare := "n/a", "n/a"
		if s.CPU > 0 {
			cpu, cpuShare = round(s.CPU).String(), fmt.Sprintf("%.0f%%", 100*s.CPUShare)
		}
		fmt.Fprintf(w, "| %s | %.0f | %v | %v | %s | %s | %s |\n", s.Name, s.Rate, round(s.P50), round(s.P99), share, cpu, cpuShare)
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	case d >= time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}
