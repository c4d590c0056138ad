module github.com/sessiongo/session/examples/fiber

go 1.25.0

require (
	github.com/gofiber/fiber/v2 v2.52.15
	github.com/sessiongo/session/adapters/fiber v0.0.0
	github.com/sessiongo/session/core v0.0.0
)

require (
	github.com/andybalholm/brotli v1.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/compress v1.17.9 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/mattn/go-runewidth v0.0.16 // indirect
	github.com/rivo/uniseg v0.2.0 // indirect
	github.com/sessiongo/session/examples/demo v0.0.0
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasthttp v1.51.0 // indirect
	github.com/valyala/tcplisten v1.0.0 // indirect
	golang.org/x/sys v0.46.0 // indirect
)

replace (
	github.com/sessiongo/session/adapters/fiber => ../../adapters/fiber
	github.com/sessiongo/session/conformance => ../../conformance
	github.com/sessiongo/session/core => ../../core
	github.com/sessiongo/session/examples/demo => ../demo
)
