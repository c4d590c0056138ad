package adapter_test

import (
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/sessiongo/session/core/adapter"
)

func TestHTTP(t *testing.T) {
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req.Header.Add("Cookie", "a=1")
	req.Header.Add("Cookie", "b=2")
	req.Header.Set("User-Agent", "ua")
	req.RemoteAddr = "[2001:db8::1]:443"
	rec := httptest.NewRecorder()
	ex := adapter.NewHTTP(rec, req)
	if ex.Cookies() != "a=1; b=2" || ex.UserAgent() != "ua" || ex.RemoteAddr() != "2001:db8::1" || ex.Scheme() != "https" {
		t.Fatalf("exchange reads %q %q %q %q", ex.Cookies(), ex.UserAgent(), ex.RemoteAddr(), ex.Scheme())
	}
	if ex.Context() != req.Context() {
		t.Fatal("Context is not the request's")
	}
	ex.SetCookie("s", "s=1")
	ex.SetCookie("s2", "s2=1")
	ex.SetCookie("s", "s=2")
	if got := rec.Header()["Set-Cookie"]; !reflect.DeepEqual(got, []string{"s=2", "s2=1"}) {
		t.Fatalf("Set-Cookie = %q, want the s line replaced in place", got)
	}
	ex.SetRequestHeader("X-A", "1")
	ex.DelRequestHeader("Cookie")
	ex.SetResponseHeader("X-B", "2")
	if req.Header.Get("X-A") != "1" || req.Header.Get("Cookie") != "" || rec.Header().Get("X-B") != "2" {
		t.Fatal("header writes did not land")
	}
	if adapter.ClientIP("10.0.0.1") != "10.0.0.1" {
		t.Fatal("ClientIP of an address without port")
	}
}

func TestReplaceSetCookie(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"empty", nil, []string{"s=new"}},
		{"other cookies", []string{"s2=1", "remember=1"}, []string{"s2=1", "remember=1", "s=new"}},
		{"replaced in place", []string{"a=1", "s=old; Path=/", "b=2"}, []string{"a=1", "s=new", "b=2"}},
		{"a longer name is another cookie", []string{"ss=1", "s2=1"}, []string{"ss=1", "s2=1", "s=new"}},
		{"a name without = is not the cookie", []string{"s"}, []string{"s", "s=new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := adapter.ReplaceSetCookie(tt.lines, "s", "s=new"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ReplaceSetCookie(%q) = %q, want %q", tt.lines, got, tt.want)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	tests := []struct{ addr, want string }{
		{"192.0.2.1:1234", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"10.0.0.1", "10.0.0.1"},
		{"2001:db8::1", "2001:db8::1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := adapter.ClientIP(tt.addr); got != tt.want {
			t.Errorf("ClientIP(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
