module github.com/sessiongo/session/stores/memcached

go 1.25.0

require github.com/sessiongo/session/core v0.0.0

require github.com/bradfitz/gomemcache v0.0.0-20260422231931-4d751bb6e37c

require github.com/sessiongo/session/conformance v0.0.0

replace github.com/sessiongo/session/core => ../../core

replace github.com/sessiongo/session/conformance => ../../conformance
