package main

import (
	"net/http/httptest"
	"testing"

	"github.com/sessiongo/session/examples/demo"
)

func TestDemo(t *testing.T) {
	m, err := demo.NewManager(demo.TestSecret, "127.0.0.1:0") // served over plain HTTP on loopback
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(m))
	defer srv.Close()
	demo.Exercise(t, srv.URL)
}
