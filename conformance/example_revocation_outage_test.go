package conformance_test

import (
	"os/exec"
	"testing"

	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
)

// A store that serves as a revocation backend checks the fail modes and
// the cache of cookie sessions against a server of its own, which the rule
// breaks in the middle of a request.
func ExampleTestRevocationOutage() {
	// In your store's _test.go file:
	testRevocationOutage := func(t *testing.T) {
		server := exec.Command("my-server", "--port", "7777") // your throwaway server
		if err := server.Start(); err != nil {
			t.Skip(err)
		}
		defer server.Process.Kill()
		st, err := session.NewMemoryStore() // your store, on that server, with client timeouts of a minute
		if err != nil {
			t.Fatal(err)
		}
		conformance.TestRevocationOutage(t, st, func() {
			server.Process.Kill()
			server.Wait()
		})
	}
	_ = testRevocationOutage
}
