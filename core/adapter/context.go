package adapter

// ContextKey is the context.Context key of a request's session:
// session.NewContext stores the session under ContextKey{}, and
// session.FromContext reads it from there.
//
// An adapter needs it only where the framework's request context is itself
// a context.Context whose Value reads the framework's own per-request
// values: Fiber v3's fiber.Ctx, whose Value reads c.Locals. Storing the
// session in those values under ContextKey{} (c.Locals(adapter.ContextKey{},
// s)) lets service code handed the framework's context find it with
// session.FromContext, as fiber's documentation has handlers pass c on.
// Everywhere else, use session.NewContext.
type ContextKey struct{}
