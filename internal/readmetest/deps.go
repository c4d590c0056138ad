//go:build readmetest_deps

// This file is never built: it names every package a README snippet may
// import, so that go mod tidy keeps them in go.mod and go.sum and the
// snippets also compile with GOWORK=off.

package readmetest

import (
	_ "github.com/bradfitz/gomemcache/memcache"
	_ "github.com/gin-gonic/gin"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/gofiber/fiber/v2"
	_ "github.com/gofiber/fiber/v3"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/labstack/echo/v4"
	_ "github.com/labstack/echo/v5"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/sessiongo/session/adapters/chi"
	_ "github.com/sessiongo/session/adapters/echo"
	_ "github.com/sessiongo/session/adapters/echov5"
	_ "github.com/sessiongo/session/adapters/fiber"
	_ "github.com/sessiongo/session/adapters/fiberv3"
	_ "github.com/sessiongo/session/adapters/gin"
	_ "github.com/sessiongo/session/conformance"
	_ "github.com/sessiongo/session/core"
	_ "github.com/sessiongo/session/otel"
	_ "github.com/sessiongo/session/stores/memcached"
	_ "github.com/sessiongo/session/stores/redis"
	_ "github.com/sessiongo/session/stores/sql"
)
