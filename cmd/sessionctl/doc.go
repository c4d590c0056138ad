// Command sessionctl inspects, mints and revokes sessiongo sessions, which
// are wire-compatible with lua-resty-session 4.x, from the command line:
//
//	go install github.com/sessiongo/session/cmd/sessionctl@latest
//
//	sessionctl open --secret S 'Cookie: session=...'   # what is in a cookie, and why it is rejected
//	sessionctl new --secret S --data '{"user":"alice"}' --subject alice
//	sessionctl keygen                                   # a fresh 32-byte key
//	sessionctl sessions list --store redis://127.0.0.1:6379 --subject alice
//	sessionctl sessions revoke --store postgres://... --subject alice
//	sessionctl revoke --config app.json --key 'sid:https://idp.example#8f2c'   # cookie sessions
//
// Configuration comes from flags named after lua-resty-session's options
// (--audience, --remember, --bind, --idling-timeout, ...) and from a JSON
// file in the reference's option names (--config, read as core's
// session.ParseConfig reads it), so that an OpenResty or Kong configuration
// can be reused as is; flags override the file. See
// README.md for the store URLs, the JSON that open prints and the exit
// codes.
package main
