// Package readmetest compiles the Go snippets of the repository's READMEs
// (all but those under examples/) in its test, so that they cannot drift
// from the API. It is not published: scripts/release leaves it out.
//
// Each ```go block becomes a package of its own: a block that starts with
// "package" as is, any other as a fragment in a generated package main with
// the imports it uses, its func and type declarations at top level and its
// other lines in main. //line directives make the errors name the README and
// its line. A block opts out with a reason on its fence line:
//
//	```go nocompile: the reader's own store (example.com/mystore)
//
// and a block marked "```go continued" is compiled after the text of the
// README's previous Go block, for a snippet that carries on from it (the
// previous block is then compiled only as part of it). The imports a fragment
// may use without writing them are listed in knownImports in the test.
package readmetest
