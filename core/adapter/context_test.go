package adapter_test

import (
	"context"
	"net/http/httptest"
	"testing"

	session "github.com/sessiongo/session/core"
	"github.com/sessiongo/session/core/adapter"
)

// localsContext is a framework context in the manner of Fiber v3's
// fiber.Ctx: a context.Context whose Value reads the request's own values.
type localsContext struct {
	context.Context
	locals map[any]any
}

func (c localsContext) Value(key any) any { return c.locals[key] }

// TestContextKey checks that ContextKey is the key session.NewContext and
// session.FromContext use, in both directions.
func TestContextKey(t *testing.T) {
	m, err := session.New(session.Config{Secret: "context key test secret"})
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession(adapter.NewHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)))
	tests := []struct {
		name string
		ctx  context.Context
		want *session.Session
	}{
		{"stored under ContextKey", localsContext{context.Background(), map[any]any{adapter.ContextKey{}: s}}, s},
		{"stored under another key", localsContext{context.Background(), map[any]any{"session": s}}, nil},
		{"session.NewContext", session.NewContext(context.Background(), s), s},
	}
	for _, tt := range tests {
		if got := session.FromContext(tt.ctx); got != tt.want {
			t.Errorf("%s: FromContext = %p, want %p", tt.name, got, tt.want)
		}
	}
	if got := session.NewContext(context.Background(), s).Value(adapter.ContextKey{}); got != s {
		t.Errorf("session.NewContext(ctx, s).Value(ContextKey{}) = %v, want the session", got)
	}
}
