package redisstore_test

import (
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	session "github.com/sessiongo/session/core"
	redisstore "github.com/sessiongo/session/stores/redis"
)

// Sessions kept in one Redis server, with the subject index, so that an
// application can list and revoke a user's sessions.
func Example() {
	client := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // a request's deadline bounds its Redis calls
	})
	defer client.Close()

	st, err := redisstore.New(client, redisstore.WithPrefix("myapp"))
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
	http.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Open(w, r)
		if err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		s.SetSubject("alice")
		s.Set("user", "alice")
		if err := s.Save(); err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
		}
	})
	http.HandleFunc("/logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		n, err := m.RevokeSessions(r.Context(), "alice")
		if err != nil {
			http.Error(w, "sessions unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%d sessions revoked\n", n)
	})
}

// A master watched by Redis Sentinel: the failover client follows the
// master through failovers, and WithWaitReplicas makes each save wait until
// a replica has it, so that sessions survive the master's loss.
func Example_sentinel() {
	client := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            "sessiongo",
		SentinelAddrs:         []string{"127.0.0.1:26390", "127.0.0.1:26391", "127.0.0.1:26392"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	st, err := redisstore.New(client, redisstore.WithWaitReplicas(1, 500*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	_ = st // session.Config{Store: st, ...}
}

// A Redis Cluster: each save still takes one round trip (one pipeline,
// split by node and sent in parallel).
func Example_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	st, err := redisstore.New(client, redisstore.WithPrefix("myapp"))
	if err != nil {
		log.Fatal(err)
	}
	_ = st // session.Config{Store: st, ...}
}

// The key names are those of lua-resty-session, so that Go and OpenResty
// services can share sessions.
func ExampleStore_Key() {
	st, err := redisstore.New(redis.NewClient(&redis.Options{}), redisstore.WithPrefix("myapp"), redisstore.WithSuffix("v1"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Key("session", "Cw8vHgmTwTnsC3MCyBe5Ga3UCkpHhCq6ORBnLwN8ug0"))
	fmt.Println(st.IndexKey("session", "ZGVmYXVsdA", "YWxpY2U"))
	// Output:
	// myapp:session:Cw8vHgmTwTnsC3MCyBe5Ga3UCkpHhCq6ORBnLwN8ug0:v1
	// myapp:session:ZGVmYXVsdA:YWxpY2U:v1
}
