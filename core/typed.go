package session

import (
	"encoding/json"
	"strconv"
)

// compatValue returns v with the types it has always had when read from a
// cookie: every json.Number in it becomes a float64. A []any or
// map[string]any that holds one is copied; v is returned as it is
// otherwise.
func compatValue(v any) any {
	switch t := v.(type) {
	case json.Number:
		if f, err := strconv.ParseFloat(string(t), 64); err == nil {
			return f
		}
	case []any:
		if holdsNumber(t) {
			out := make([]any, len(t))
			for i, e := range t {
				out[i] = compatValue(e)
			}
			return out
		}
	case map[string]any:
		if holdsNumber(t) {
			out := make(map[string]any, len(t))
			for k, e := range t {
				out[k] = compatValue(e)
			}
			return out
		}
	}
	return v
}

// holdsNumber reports whether v holds a json.Number, at any depth.
func holdsNumber(v any) bool {
	switch t := v.(type) {
	case json.Number:
		return true
	case []any:
		for _, e := range t {
			if holdsNumber(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if holdsNumber(e) {
				return true
			}
		}
	}
	return false
}
