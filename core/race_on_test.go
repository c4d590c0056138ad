//go:build race

package session

// raceEnabled reports a -race build, where sync.Pool drops items on purpose
// and allocation counts are meaningless.
const raceEnabled = true
