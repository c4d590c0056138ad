module github.com/sessiongo/session/examples/nethttp

go 1.25.0

require (
	github.com/sessiongo/session/core v0.0.0
	github.com/sessiongo/session/examples/demo v0.0.0
)

replace (
	github.com/sessiongo/session/core => ../../core
	github.com/sessiongo/session/examples/demo => ../demo
)
