module github.com/sessiongo/session/examples/echov5

go 1.25.0

require (
	github.com/labstack/echo/v5 v5.4.4
	github.com/sessiongo/session/adapters/echov5 v0.0.0
	github.com/sessiongo/session/core v0.0.0
	github.com/sessiongo/session/examples/demo v0.0.0
)

require golang.org/x/time v0.15.0 // indirect

replace (
	github.com/sessiongo/session/adapters/echov5 => ../../adapters/echov5
	github.com/sessiongo/session/conformance => ../../conformance
	github.com/sessiongo/session/core => ../../core
	github.com/sessiongo/session/examples/demo => ../demo
)
