package main

import (
	"net"
	"testing"

	"github.com/sessiongo/session/examples/demo"
)

// TestDemo serves the app on a loopback listener (fiber runs on fasthttp,
// not net/http, so httptest cannot host it) and drives it like the others.
func TestDemo(t *testing.T) {
	m, err := demo.NewManager(demo.TestSecret, "127.0.0.1:0") // served over plain HTTP on loopback
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := newApp(m)
	done := make(chan struct{})
	go func() {
		defer close(done)
		app.Listener(ln) //nolint:errcheck // closed below
	}()
	defer func() {
		app.Shutdown() //nolint:errcheck // the test is over
		ln.Close()     // in case Serve had not started
		<-done
	}()
	demo.Exercise(t, "http://"+ln.Addr().String())
}
