module github.com/sessiongo/session/examples/oidc-backchannel

go 1.25.0

require (
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/sessiongo/session/core v0.0.0
)

replace github.com/sessiongo/session/core => ../../core
