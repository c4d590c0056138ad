#!/usr/bin/env python3
"""Records what zlib writes for core's deflate corpus.

core/zdeflate.go writes raw DEFLATE as zlib does at the reference's settings
(level 6, windowBits -15, memLevel 8, default strategy: lua-ffi-zlib's
deflateGzip as lua-resty-session 4.1.5 calls it). This script has core's
tests write the corpus (deflate_corpus_test.go) to a temporary directory,
deflates every item with the zlib that Python links, and writes
core/testdata/deflate-zlib-corpus.json: per item, its size and the size and
SHA-256 of zlib's output, which TestZdeflateIsZlib compares with zdeflate's.

Usage: scripts/zlib-corpus.py   (from anywhere; needs go and python3)
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zlib

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
core = os.path.join(root, "core")

with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, SESSIONGO_DEFLATE_CORPUS=tmp, GOWORK="off")
    subprocess.run(["go", "test", "-count=1", "-run", "^TestZdeflateIsZlib$", "."],
                   cwd=core, env=env, check=True, stdout=sys.stderr)
    # One file per item, named by it; "index" lists them in corpus order.
    with open(os.path.join(tmp, "index")) as f:
        names = f.read().split()
    items = []
    for name in names:
        with open(os.path.join(tmp, name), "rb") as f:
            data = f.read()
        c = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
        out = c.compress(data) + c.flush()
        items.append({"name": name, "size": len(data), "zlib_size": len(out),
                      "zlib_sha256": hashlib.sha256(out).hexdigest()})

doc = {
    "generator": "scripts/zlib-corpus.py",
    "zlib": zlib.ZLIB_RUNTIME_VERSION,
    "settings": "level 6, windowBits -15, memLevel 8, Z_DEFAULT_STRATEGY",
    "items": items,
}
path = os.path.join(core, "testdata", "deflate-zlib-corpus.json")
with open(path, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"wrote {len(items)} items to {path}", file=sys.stderr)
