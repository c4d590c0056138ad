module github.com/sessiongo/session/adapters/echov5

go 1.25.0

require (
	github.com/labstack/echo/v5 v5.4.4
	github.com/sessiongo/session/conformance v0.0.0
	github.com/sessiongo/session/core v0.0.0
)

replace (
	github.com/sessiongo/session/conformance => ../../conformance
	github.com/sessiongo/session/core => ../../core
)
