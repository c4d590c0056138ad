package conformance_test

import (
	"testing"

	"github.com/sessiongo/session/conformance"
	session "github.com/sessiongo/session/core"
)

// Two handles on one memory store stand for two clients of one server.
func TestSharedStoreMemory(t *testing.T) {
	st, err := session.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	conformance.TestSharedStore(t, st, st)
}

func TestSharedStoreFile(t *testing.T) {
	dir := t.TempDir()
	a, err := session.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := session.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	conformance.TestSharedStore(t, a, b)
}
