package fibersession

import (
	"strconv"
	"sync/atomic"

	"github.com/gofiber/fiber/v3"
	session "github.com/sessiongo/session/core"
)

// ReadBufferSize is the smallest fiber.Config.ReadBufferSize Middleware
// accepts for a Manager with cookie storage (no Store): 80 KiB.
//
// fasthttp, under fiber, reads a request's line and headers into a buffer
// of ReadBufferSize bytes (4096 by default), and answers a request whose
// headers do not fit with 431 Request Header Fields Too Large before any
// handler runs: no middleware, no error handler, no log line. A session
// kept in cookies takes up to nine 4096-byte cookies (chunks), and its
// remember cookie as many more (73,728 bytes together), which the browser
// sends back with every request; the rest leaves 8 KiB for the request
// line and the other headers and cookies. With a Store, the cookies hold
// only a header and fiber's default is enough.
//
//	app := fiber.New(fiber.Config{ReadBufferSize: fibersession.ReadBufferSize})
const ReadBufferSize = 80 << 10

// fasthttpReadBufferSize is what fasthttp uses when the server's
// ReadBufferSize is 0.
const fasthttpReadBufferSize = 4096

// bufferCheck is Middleware's check that the app serving a request reads
// enough request headers for the Manager's cookies. It runs once per app
// (the app last checked is kept), so a request costs an atomic load.
type bufferCheck struct {
	cookies bool // the Manager keeps sessions in cookies
	last    atomic.Pointer[checkedApp]
}

type checkedApp struct {
	app *fiber.App
	err error
}

// app returns nil when app's server reads enough request headers for the
// Manager's cookies, and an error wrapping session.ErrInvalidConfig that
// says why and what to do when it does not.
func (b *bufferCheck) app(app *fiber.App) error {
	if !b.cookies {
		return nil
	}
	if last := b.last.Load(); last != nil && last.app == app {
		return last.err
	}
	err := readBufferError(app)
	b.last.Store(&checkedApp{app: app, err: err})
	return err
}

// readBufferError checks the read buffer of app's fasthttp server (what
// fiber.Config.ReadBufferSize set, or what was set on app.Server() since).
func readBufferError(app *fiber.App) error {
	size := fasthttpReadBufferSize
	if app != nil && app.Server() != nil && app.Server().ReadBufferSize > 0 {
		size = app.Server().ReadBufferSize
	}
	if size >= ReadBufferSize {
		return nil
	}
	return &session.Error{Kind: session.ErrInvalidConfig, Msg: "fibersession: fiber's ReadBufferSize is " +
		strconv.Itoa(size) + " bytes, and a session kept in cookies (no Store) needs " + strconv.Itoa(ReadBufferSize) +
		": fasthttp would answer 431 Request Header Fields Too Large, before any handler runs, once the session" +
		" grows past one cookie; create the app with fiber.New(fiber.Config{ReadBufferSize: fibersession.ReadBufferSize})" +
		" or use a server-side Store"}
}
