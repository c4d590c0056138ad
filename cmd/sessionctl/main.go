package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes.
const (
	exitOK      = 0 // done; for open: the cookie was examined (see --check)
	exitFailure = 1 // the command failed (store unreachable, ...), or open --check on a cookie that does not open
	exitUsage   = 2 // bad flags, arguments or configuration
)

// usageError is bad input from the user: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitError ends the program with a code after its output was written.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// env is what a command reads and writes.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"open", "show what a session cookie holds, and why it does not open", runOpen},
		{"new", "mint a session and print its Set-Cookie lines", runNew},
		{"keygen", "print a fresh random 32-byte key", runKeygen},
		{"sessions", "list or revoke a subject's sessions in a store (list|revoke)", runSessions},
		{"revoke", "revoke cookie sessions by key or subject in the revocation backend", runRevoke},
	}
}

const mainUsage = `sessionctl inspects, mints and revokes sessiongo / lua-resty-session 4.x sessions.

Usage:
  sessionctl <command> [flags] [arguments]

Commands:
%s
Run "sessionctl <command> --help" for a command's flags. Configuration comes
from flags and from a JSON file in lua-resty-session's option names
(--config file.json); flags override the file.

Exit status: 0 on success (for open: the cookie was examined, whatever the
result; add --check to exit 1 when it does not open), 1 on failure, 2 on
bad usage.
`

func printMainUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, b.String())
}

func main() {
	os.Exit(run(os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

// run runs one command line and returns the exit code.
func run(args []string, e *env) int {
	if len(args) == 0 {
		printMainUsage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run([]string{args[1], "--help"}, e)
		}
		printMainUsage(e.stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == name {
			return exitCode(e, c.run(e, args[1:]))
		}
	}
	fmt.Fprintf(e.stderr, "sessionctl: unknown command %q\n\n", name)
	printMainUsage(e.stderr)
	return exitUsage
}

func exitCode(e *env, err error) int {
	var code exitError
	var usage usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &usage):
		fmt.Fprintf(e.stderr, "sessionctl: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(e.stderr, "sessionctl: %v\n", err)
	return exitFailure
}

// newFlagSet returns a flag set whose --help prints usage (a synopsis and
// a description) and the flags to stdout.
func newFlagSet(e *env, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: sessionctl %s\n\n%s\nFlags:\n", synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, flags and positional arguments in any order
// (everything after a "--" is positional), and returns the positional
// arguments. --help prints the usage to stdout; a bad flag is a usage error
// (the flag package has said why on stderr).
func parseFlags(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return nil, flag.ErrHelp
		}
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, exitError(exitUsage)
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(positional, rest...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
