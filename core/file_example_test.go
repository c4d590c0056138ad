package session_test

import (
	"context"
	"fmt"
	"os"
	"time"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/store"
)

// A FileStore shares its directory with OpenResty or Kong: give it the
// path, prefix and suffix of the reference's file storage configuration,
// here storage = "file", file = { path = dir, prefix = "app", suffix =
// "sess" }. Records and subject indexes then have the reference's names.
func ExampleWithFilePrefix() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	st, err := session.NewFileStore(dir, session.WithFilePrefix("app"), session.WithFileSuffix("sess"))
	if err != nil {
		panic(err)
	}
	// What a save of alice's session in the audience "shop" stores.
	md := &store.Metadata{Audiences: []string{"c2hvcA"}, Subjects: []string{"YWxpY2U"}}
	err = st.Set(context.Background(), "session", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
		[]byte(`["ciphertext"]`), store.SetOptions{TTL: time.Hour, Now: time.Now(), Metadata: md})
	if err != nil {
		panic(err)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		fmt.Println(f.Name())
	}
	// Output:
	// app_session_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA.sess
	// app_session_c2hvcA:YWxpY2U.sess
}
