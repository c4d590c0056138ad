package session

// Flash messages: values read once, then gone, typically a notice set
// before a redirect and shown by the page it leads to.
//
// The messages of key live in the data of the current audience, as a JSON
// array under the data key flashPrefix + key ("_flash:notice"), where the
// reference library and Data see them under that name. No other key can
// reach it: a data key that starts with "_flash:" after any number of "$"
// is stored with one more "$" (see dataKey), and the info store's keys
// start with "@".

// flashPrefix starts the data key of the flash messages of a key.
const flashPrefix = "_flash:"

// Flash adds v to the flash messages of key in the current audience; Flashes
// and PopFlashes return them once. Like Set, it changes the data: Save the
// session (the middleware's WithAutoSave does) for the messages to reach a
// later request, and give v a type that encodes to JSON.
func (s *Session) Flash(key string, v any) {
	if s.state == stateClosed {
		return
	}
	s.own()
	data := s.entry().data
	k := flashPrefix + key
	data[k] = append(flashList(data[k]), v)
}

// Flashes returns the flash messages of key in the current audience, oldest
// first, and removes them; nil when there are none. The values come back as
// encoding/json decodes them into an any (float64 for every number,
// map[string]any for a struct, a string for a time.Time or a []byte),
// whether they were added in this request or an earlier one; PopFlashes
// decodes them into a type of your choice. Removing them changes the data:
// Save the session (the middleware's WithAutoSave does) or they come back
// in the next request.
func (s *Session) Flashes(key string) []any {
	if s.state == stateClosed {
		return nil
	}
	data := s.entry().data
	k := flashPrefix + key
	raw, ok := data[k]
	if !ok {
		return nil
	}
	if s.shared {
		s.own()
		data = s.entry().data
		raw = data[k]
	}
	delete(data, k)
	list := flashList(raw)
	if len(list) == 0 {
		return nil
	}
	var out []any
	if err := decodeValue(list, &out); err != nil {
		// A value that cannot be encoded (Save would fail on it too) is
		// returned as it was added.
		out = make([]any, len(list))
		for i, e := range list {
			out[i] = compatValue(e)
		}
	}
	return out
}

// PopFlashes decodes the flash messages of key in the current audience into
// a []T, oldest first, by the rules of Session.Decode, and removes them; it
// returns nil and no error when there are none. When a message does not
// decode into a T the error matches ErrInvalid and the messages are kept.
// Removing them changes the data: Save the session (the middleware's
// WithAutoSave does) or they come back in the next request.
func PopFlashes[T any](s *Session, key string) ([]T, error) {
	if s.state == stateClosed {
		return nil, errClosed("pop flashes of")
	}
	data := s.entry().data
	k := flashPrefix + key
	raw, ok := data[k]
	if !ok {
		return nil, nil
	}
	if s.shared {
		s.own()
		data = s.entry().data
		raw = data[k]
	}
	list := flashList(raw)
	var out []T
	if len(list) > 0 {
		if err := decodeValue(list, &out); err != nil {
			return nil, err
		}
	}
	delete(data, k)
	return out, nil
}

// flashList returns the messages stored under a flash key: the list, or a
// value another program stored there as a single message.
func flashList(raw any) []any {
	switch v := raw.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{raw}
}
