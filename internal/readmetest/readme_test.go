package readmetest

import (
	"bufio"
	"bytes"
	"fmt"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// knownImports maps the package names snippets use without importing them
// to their import paths.
var knownImports = map[string]string{
	"session":        "github.com/sessiongo/session/core",
	"conformance":    "github.com/sessiongo/session/conformance",
	"chisession":     "github.com/sessiongo/session/adapters/chi",
	"echosession":    "github.com/sessiongo/session/adapters/echo",
	"fibersession":   "github.com/sessiongo/session/adapters/fiber",
	"ginsession":     "github.com/sessiongo/session/adapters/gin",
	"memcachedstore": "github.com/sessiongo/session/stores/memcached",
	"redisstore":     "github.com/sessiongo/session/stores/redis",
	"sqlstore":       "github.com/sessiongo/session/stores/sql",
	"sessionotel":    "github.com/sessiongo/session/otel",
	"chi":            "github.com/go-chi/chi/v5",
	"echo":           "github.com/labstack/echo/v4",
	"fiber":          "github.com/gofiber/fiber/v2",
	"gin":            "github.com/gin-gonic/gin",
	"memcache":       "github.com/bradfitz/gomemcache/memcache",
	"redis":          "github.com/redis/go-redis/v9",
	"context":        "context",
	"errors":         "errors",
	"fmt":            "fmt",
	"http":           "net/http",
	"httptest":       "net/http/httptest",
	"io":             "io",
	"json":           "encoding/json",
	"log":            "log",
	"net":            "net",
	"os":             "os",
	"slog":           "log/slog",
	"sql":            "database/sql",
	"strings":        "strings",
	"testing":        "testing",
	"time":           "time",
}

type snippet struct {
	readme string // path relative to the repository root
	line   int    // line of the first line of code in the README
	lines  []string
	prev   *snippet // the block it continues, if marked "continued"
}

var fence = regexp.MustCompile("^```go(?:[ \t]+(.*))?$")

// readmes returns every README.md of the repository but those under
// examples/ (another test's business) and hidden or _ directories.
func readmes(t *testing.T, root string) []string {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			name := d.Name()
			if rel == "examples" || (rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == "README.md" {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// parse returns the Go blocks of a README that are to be compiled.
func parse(t *testing.T, root, readme string) (snippets []*snippet, skipped int) {
	data, err := os.ReadFile(filepath.Join(root, readme))
	if err != nil {
		t.Fatal(err)
	}
	var cur, last *snippet
	for i, l := range strings.Split(string(data), "\n") {
		if cur != nil {
			if strings.TrimSpace(l) == "```" {
				snippets = append(snippets, cur)
				if cur.readme != "" {
					last = cur
				}
				cur = nil
			} else {
				cur.lines = append(cur.lines, l)
			}
			continue
		}
		m := fence.FindStringSubmatch(strings.TrimRight(l, " \t"))
		if m == nil {
			continue
		}
		info := strings.TrimSpace(m[1])
		switch {
		case info == "":
			cur = &snippet{readme: readme, line: i + 2}
		case info == "continued":
			if last == nil {
				t.Errorf("%s:%d: a continued block with no Go block before it", readme, i+1)
			}
			cur = &snippet{readme: readme, line: i + 2, prev: last}
		case strings.HasPrefix(info, "nocompile"):
			reason := strings.TrimSpace(strings.TrimLeft(strings.TrimPrefix(info, "nocompile"), ":"))
			if reason == "" {
				t.Errorf("%s:%d: ```go nocompile needs a reason: ```go nocompile: why", readme, i+1)
			}
			skipped++
			cur = &snippet{} // no readme: read, then dropped
		default:
			t.Errorf("%s:%d: unknown fence info %q: want ```go, ```go continued or ```go nocompile: reason", readme, i+1, info)
			cur = &snippet{}
		}
	}
	if cur != nil {
		t.Errorf("%s:%d: unterminated code block", readme, cur.line-1)
	}
	continued := map[*snippet]bool{}
	for _, s := range snippets {
		if s.prev != nil {
			continued[s.prev] = true
		}
	}
	out := snippets[:0]
	for _, s := range snippets {
		// A block a later one continues compiles as part of that one.
		if s.readme != "" && !continued[s] {
			out = append(out, s)
		}
	}
	return out, skipped
}

// chunk is a run of README lines placed in the generated file.
type chunk struct {
	line  int
	lines []string
}

type parts struct {
	pkgFile       bool // the block is a whole file
	imports       []chunk
	decls, stmts  []chunk
	importedNames map[string]bool
}

func (p *parts) add(s *snippet) {
	var mode string // "import", "decl", "stmt"
	var c *chunk
	flush := func() {
		if c == nil || len(c.lines) == 0 {
			c = nil
			return
		}
		switch mode {
		case "import":
			p.imports = append(p.imports, *c)
		case "decl":
			p.decls = append(p.decls, *c)
		default:
			p.stmts = append(p.stmts, *c)
		}
		c = nil
	}
	inBlock := false // inside a top-level import or decl until its closing line
	for i, l := range s.lines {
		n := s.line + i
		if inBlock {
			c.lines = append(c.lines, l)
			if l == "}" || l == ")" {
				inBlock = false
			}
			continue
		}
		var m string
		switch {
		case strings.HasPrefix(l, "import "):
			m = "import"
		case strings.HasPrefix(l, "func "), strings.HasPrefix(l, "type "):
			m = "decl"
		case strings.TrimSpace(l) == "" && c != nil:
			m = mode // blank lines stay with what they follow
		default:
			m = "stmt"
		}
		if c == nil || m != mode || m != "stmt" {
			flush()
			mode, c = m, &chunk{line: n}
		}
		c.lines = append(c.lines, l)
		if m != "stmt" && (strings.HasSuffix(l, "(") || strings.HasSuffix(l, "{")) {
			inBlock = true
		}
		if m == "import" {
			for _, name := range importNames(l) {
				p.importedNames[name] = true
			}
		}
	}
	flush()
	for _, ch := range p.imports {
		for _, l := range ch.lines {
			for _, name := range importNames(l) {
				p.importedNames[name] = true
			}
		}
	}
}

var importSpec = regexp.MustCompile(`^\s*(?:import\s+)?(?:\(\s*)?([A-Za-z_][A-Za-z0-9_]*\s+)?"([^"]+)"`)

// importNames returns the package name an import line brings in.
func importNames(l string) []string {
	m := importSpec.FindStringSubmatch(l)
	if m == nil {
		return nil
	}
	if name := strings.TrimSpace(m[1]); name != "" {
		return []string{name}
	}
	path := m[2]
	for name, p := range knownImports {
		if p == path {
			return []string{name}
		}
	}
	// A major version suffix is not the package's name:
	// github.com/gofiber/fiber/v3 is package fiber.
	path = majorSuffix.ReplaceAllString(path, "")
	return []string{path[strings.LastIndex(path, "/")+1:]}
}

var majorSuffix = regexp.MustCompile(`/v[0-9]+$`)

// usedPackages returns the known package names used as "name." in code.
func usedPackages(code string) []string {
	var sc scanner.Scanner
	fset := token.NewFileSet()
	src := []byte(code)
	sc.Init(fset.AddFile("", -1, len(src)), src, nil, 0)
	seen := map[string]bool{}
	prevIdent, prevDot := "", false
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.IDENT && !prevDot {
			prevIdent = lit
		} else {
			if tok == token.PERIOD && prevIdent != "" {
				if _, ok := knownImports[prevIdent]; ok {
					seen[prevIdent] = true
				}
			}
			prevIdent = ""
		}
		prevDot = tok == token.PERIOD
	}
	var out []string
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func lineDirective(root string, s *snippet, line int) string {
	return fmt.Sprintf("//line %s:%d", filepath.Join(root, filepath.FromSlash(s.readme)), line)
}

// generate returns the file name and source of a block.
func generate(root string, s *snippet) (string, []byte) {
	chain := []*snippet{s}
	for p := s.prev; p != nil; p = p.prev {
		chain = append([]*snippet{p}, chain...)
	}
	var b bytes.Buffer
	first := strings.TrimSpace(strings.Join(s.lines, "\n"))
	if strings.HasPrefix(first, "package ") {
		fmt.Fprintln(&b, lineDirective(root, s, s.line))
		b.WriteString(strings.Join(s.lines, "\n"))
		b.WriteString("\n")
		name := "snippet.go"
		if pkg := strings.Fields(first)[1]; strings.HasSuffix(pkg, "_test") {
			name = "snippet_test.go"
		}
		return name, b.Bytes()
	}
	p := &parts{importedNames: map[string]bool{}}
	for _, c := range chain {
		p.add(c)
	}
	onlyImports := len(p.decls) == 0 && len(p.stmts) == 0
	var all []string
	for _, c := range append(p.decls, p.stmts...) {
		all = append(all, c.lines...)
	}
	b.WriteString("package main\n\n")
	// Imports: the snippet's own first, then the ones it uses without them.
	for _, c := range p.imports {
		fmt.Fprintln(&b, lineDirective(root, s, c.line))
		for _, l := range c.lines {
			if onlyImports {
				// An import-only block: check that the path resolves.
				l = regexp.MustCompile(`^(\s*(?:import\s+)?)[A-Za-z_][A-Za-z0-9_]*(\s+")`).ReplaceAllString(l, `${1}_${2}`)
				if m := regexp.MustCompile(`^(\s*(?:import\s+)?)(")`); m.MatchString(l) {
					l = m.ReplaceAllString(l, `${1}_ ${2}`)
				}
			}
			b.WriteString(l + "\n")
		}
	}
	for _, name := range usedPackages(strings.Join(all, "\n")) {
		if !p.importedNames[name] {
			fmt.Fprintf(&b, "import %s %q\n", name, knownImports[name])
		}
	}
	for _, c := range p.decls {
		b.WriteString("\n")
		fmt.Fprintln(&b, lineDirective(root, chainOf(chain, c.line), c.line))
		b.WriteString(strings.Join(c.lines, "\n") + "\n")
	}
	b.WriteString("\nfunc main() {\n")
	for _, c := range p.stmts {
		fmt.Fprintln(&b, lineDirective(root, chainOf(chain, c.line), c.line))
		b.WriteString(strings.Join(c.lines, "\n") + "\n")
	}
	b.WriteString("}\n")
	return "snippet.go", b.Bytes()
}

// chainOf returns the block of a chain (same README) that holds line.
func chainOf(chain []*snippet, line int) *snippet {
	for _, s := range chain {
		if line >= s.line && line < s.line+len(s.lines) {
			return s
		}
	}
	return chain[len(chain)-1]
}

// TestREADMESnippets compiles (go vet) every Go block of every README but
// those under examples/.
func TestREADMESnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the README snippets with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command: ", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Clean(filepath.Join(wd, "..", ".."))
	dir, err := os.MkdirTemp(wd, "_snippets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	var pkgs []string
	skipped := 0
	for _, readme := range readmes(t, root) {
		snippets, n := parse(t, root, readme)
		skipped += n
		for _, s := range snippets {
			name, src := generate(root, s)
			pkg := fmt.Sprintf("%s_L%d", strings.NewReplacer("/", "_", ".", "_").Replace(readme), s.line)
			if err := os.Mkdir(filepath.Join(dir, pkg), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, pkg, name), src, 0o644); err != nil {
				t.Fatal(err)
			}
			pkgs = append(pkgs, "./"+filepath.Base(dir)+"/"+pkg)
		}
	}
	t.Logf("compiling %d README snippets (%d marked nocompile)", len(pkgs), skipped)
	if len(pkgs) == 0 {
		t.Fatal("no README snippets found")
	}
	cmd := exec.Command(goCmd, append([]string{"vet"}, pkgs...)...)
	cmd.Dir = wd
	out, err := cmd.CombinedOutput()
	if err != nil {
		var msgs []string
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			// vet names files relative to this directory, two below root.
			l := strings.ReplaceAll(sc.Text(), "../../", "")
			if strings.HasPrefix(l, "#") {
				continue
			}
			msgs = append(msgs, l)
		}
		t.Errorf("README snippets do not compile (README:line: error):\n%s\n(%v)", strings.Join(msgs, "\n"), err)
	}
}
