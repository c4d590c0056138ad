package bench

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCells: every cell of the table does its work: the setup leaves a
// session, and each request of the op succeeds (a read checks the value it
// reads, an update the value it increments), repeatedly.
func TestCells(t *testing.T) {
	e := newEnv(ServersFromEnv())
	t.Cleanup(e.close)
	for _, l := range Libraries {
		t.Run(strings.ReplaceAll(l.Name, " ", "_"), func(t *testing.T) {
			if why := e.available(l); why != "" {
				skip(t, why)
			}
			for _, w := range Works {
				op, cleanup, err := e.cell(l, w)
				if err != nil {
					t.Fatalf("%s: %v", w, err)
				}
				for i := range 3 {
					if err := op(); err != nil {
						t.Fatalf("%s, request %d: %v", w, i, err)
					}
				}
				cleanup()
			}
		})
	}
	for _, w := range Works {
		op, err := floorOp(w)
		if err != nil {
			t.Fatal(err)
		}
		if err := op(); err != nil {
			t.Fatalf("floor of %s: %v", w, err)
		}
	}
}

// TestJar: Set-Cookie lines set, replace and remove cookies as a browser
// does, and the Cookie header lists what is left.
func TestJar(t *testing.T) {
	j := newJar()
	j.update([]string{
		"session=abc; Path=/; HttpOnly",
		"session2=def; Path=/",
		"remember=xyz; Max-Age=3600",
	})
	j.update([]string{
		"session=new; Path=/",
		"session2=; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0",
		"other=1; Max-Age=-1",
	})
	if got, want := j.header(), "remember=xyz; session=new"; got != want {
		t.Fatalf("Cookie header %q, want %q", got, want)
	}
}

// TestMergeAndStat: merged runs put each library's columns side by side,
// and a cell's statistics are the medians of its samples.
func TestMergeAndStat(t *testing.T) {
	run := func(label string, ratio float64) *Results {
		r := &Results{Libraries: []string{"a (" + label + ")", "b (" + label + ")"}, Works: []string{"read"}}
		for round, ns := range []float64{100, 300, 200} {
			r.Samples = append(r.Samples,
				Sample{Round: round, Work: "read", Library: "a (" + label + ")", Ns: ns * ratio, FloorNs: ns, Allocs: 3},
				Sample{Round: round, Work: "read", Library: "b (" + label + ")", Ns: ns, FloorNs: ns, Allocs: 5})
		}
		return r
	}
	m := Merge(run("base", 2), run("head", 1.5))
	if got, want := strings.Join(m.Libraries, ","), "a (base),a (head),b (base),b (head)"; got != want {
		t.Fatalf("columns %s, want %s", got, want)
	}
	st, ok := m.Stat("a (head)", "read")
	if !ok || st.Ratio != 1.5 || st.Ns != 300 || st.Allocs != 3 || st.Samples != 3 {
		t.Fatalf("a (head): %+v", st)
	}
	var b bytes.Buffer
	m.WriteMarkdown(&b)
	if !strings.Contains(b.String(), "| read | 2.00× | 1.50× | 1.00× | 1.00× |") {
		t.Fatalf("table:\n%s", b.String())
	}
}

// TestHTTPHandlers: the session routes read what the example's sign-in
// saved, and the bare router answers the same text.
func TestHTTPHandlers(t *testing.T) {
	m, err := exampleManager()
	if err != nil {
		t.Fatal(err)
	}
	bare, withSession := httpHandlers(m)
	cookie, err := login(withSession)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/value"} {
		var bodies []string
		for _, h := range []http.Handler{bare, withSession} {
			r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+path, nil)
			r.Header.Set("Cookie", cookie)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body)
			}
			bodies = append(bodies, w.Body.String())
		}
		if bodies[0] != bodies[1] || !strings.Contains(bodies[1], alice.Name) {
			t.Fatalf("%s: bare %q, session %q", path, bodies[0], bodies[1])
		}
	}
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/value", nil)
	w := httptest.NewRecorder()
	withSession.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("without the cookie: %d, want 401", w.Code)
	}
}

func TestParseWork(t *testing.T) {
	for _, w := range Works {
		got, err := ParseWork(w.String())
		if err != nil || got != w {
			t.Fatalf("ParseWork(%q) = %v, %v", w, got, err)
		}
	}
	if _, err := ParseWork("nope"); err == nil {
		t.Fatal("ParseWork of an unknown work: no error")
	}
}
