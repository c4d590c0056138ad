module github.com/sessiongo/session/examples/chi

go 1.25.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/sessiongo/session/adapters/chi v0.0.0
	github.com/sessiongo/session/core v0.0.0
	github.com/sessiongo/session/examples/demo v0.0.0
)

replace (
	github.com/sessiongo/session/adapters/chi => ../../adapters/chi
	github.com/sessiongo/session/conformance => ../../conformance
	github.com/sessiongo/session/core => ../../core
	github.com/sessiongo/session/examples/demo => ../demo
)
