#!/usr/bin/env python3
"""rewrite.py VERSION MODULES_FILE FILE...

Sets the version of every requirement on one of the modules listed in
MODULES_FILE (one module path a line) to VERSION, in each go.mod or go.work
FILE: `require` lines and blocks, and the left-hand side of `replace` lines
that name a version (`path vX => dir`, as go.work has for cmd/sessionctl).
Replacements without a version and everything else stay byte for byte.
Prints the files it changed. Standard library only.
"""

import re
import sys

# A module path followed by a version, then an optional comment or "=> ...".
ENTRY = re.compile(r'^(\s*(?:require\s+|replace\s+)?)("?)([^\s"]+)\2(\s+)(v[^\s]+)(\s.*)?$', re.S)


def rewrite(text, modules, version):
    out = []
    block = None  # "require" or "replace" inside a ( ... ) block
    changed = False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        stripped = body.strip()
        kind = None
        if block:
            if stripped == ")":
                block = None
            elif stripped and not stripped.startswith("//"):
                kind = block
        else:
            m = re.match(r"^(require|replace)\s*\(\s*(//.*)?$", stripped)
            if m:
                block = m.group(1)
            elif re.match(r"^(require|replace)\s", stripped):
                kind = stripped.split()[0]
        if kind:
            m = ENTRY.match(body)
            if m and m.group(3) in modules and m.group(5) != version:
                rest = m.group(6) or ""
                if kind == "require" or rest.lstrip().startswith("=>"):
                    body = m.group(1) + m.group(2) + m.group(3) + m.group(2) + m.group(4) + version + rest
                    changed = True
        out.append(body + end)
    return "".join(out), changed


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    version, modules_file, files = argv[0], argv[1], argv[2:]
    with open(modules_file) as f:
        modules = {line.strip() for line in f if line.strip()}
    for path in files:
        with open(path) as f:
            text = f.read()
        new, changed = rewrite(text, modules, version)
        if changed:
            with open(path, "w") as f:
                f.write(new)
            print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
