// Package browsertest drives the example app (examples/nethttp, run by
// internal/loadtest/exampleapp) with a real browser, Debian's headless
// Chromium through chromedp, over HTTPS with a test certificate and
// __Host- cookies: sign-in with remember-me, a session grown to three
// cookie chunks, a reload, a browser restart restored by the remember
// cookie, and a logout that leaves no cookie. Its test is all it has:
//
//	go test ./internal/browsertest
//
// It skips when chromium is not installed (.ci/setup.d/40-chromium.sh
// installs it), unless SESSIONGO_REQUIRE_SERVICES=1. Internal: not part of
// the library's API.
package browsertest
