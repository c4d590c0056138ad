//go:build !unix

package session

// fileNoFollow is 0 where open has no O_NOFOLLOW; recordExpiry and the
// index's time still refuse symbolic links (Lstat).
const fileNoFollow = 0
