module github.com/sessiongo/session/internal/loadtest

go 1.25.0
