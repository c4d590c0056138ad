module github.com/sessiongo/session/core

go 1.25.0
