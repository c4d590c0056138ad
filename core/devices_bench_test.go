package session_test

import (
	"net/http/httptest"
	"strconv"
	"testing"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// BenchmarkStoreLogin is a signed-in login's save on the memory store with
// the subject index, the save that carries a device's last seen time.
func BenchmarkStoreLogin(b *testing.B) {
	m, err := session.New(session.Config{
		Secret: "benchmark secret of 32 bytes....", Store: benchMemoryStore(b), StoreMetadata: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/login", nil)
	users := make([]string, 4096) // a user's index grows with each login: spread them
	for i := range users {
		users[i] = "user" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := m.NewSession(adapter.NewHTTP(httptest.NewRecorder(), r))
		s.SetSubject(users[i%len(users)])
		i++
		if err := s.Save(); err != nil {
			b.Fatal(err)
		}
	}
}
