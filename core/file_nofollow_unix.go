//go:build unix

package session

import "syscall"

// fileNoFollow makes opening a symbolic link in the store's directory fail,
// so that whoever can write there cannot point a record or an index at a
// file elsewhere.
const fileNoFollow = syscall.O_NOFOLLOW
