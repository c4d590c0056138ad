package memcachedstore_test

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	session "github.com/sessiongo/session/core"
	memcachedstore "github.com/sessiongo/session/stores/memcached"
)

// Sessions kept in memcached (here two servers; keys are spread over them),
// with the subject index, so that an application can list and revoke a
// user's sessions.
func Example() {
	client := memcache.New("127.0.0.1:11211", "127.0.0.1:11212")
	client.Timeout = 200 * time.Millisecond // bounds each memcached call
	client.MaxIdleConns = 64                // about the number of concurrent requests
	defer client.Close()

	st, err := memcachedstore.New(client, memcachedstore.WithPrefix("myapp"))
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{
		Secret:        "a long random secret, from your configuration",
		Store:         st,
		StoreMetadata: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Open(w, r)
		if err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		if !s.Exists() {
			http.Error(w, "please sign in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, s.Get("user"))
	})
}

// The key names are those of lua-resty-session, escaped as its memcached
// client (lua-resty-memcached) escapes every key, so that Go and OpenResty
// services read and write the same items.
func ExampleStore_Key() {
	st, err := memcachedstore.New(memcache.New(), memcachedstore.WithPrefix("myapp"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Key("session", "Cw8vHgmTwTnsC3MCyBe5Ga3UCkpHhCq6ORBnLwN8ug0"))
	fmt.Println(st.IndexKey("session", "ZGVmYXVsdA", "YWxpY2U"))
	// Output:
	// myapp%3Asession%3ACw8vHgmTwTnsC3MCyBe5Ga3UCkpHhCq6ORBnLwN8ug0
	// myapp%3Asession%3AZGVmYXVsdA%3AYWxpY2U
}
