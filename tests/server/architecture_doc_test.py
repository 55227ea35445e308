#!/usr/bin/env python3
"""tests/server/architecture_doc_test.py - docs/architecture.md's map and Put trace match the code.

Every `path/file.cc:function` hop the document names must be a file of the repository that contains that
function's name, and every folder in the map must exist: a rename or a move that leaves the document behind
fails here, naming the stale reference."""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "architecture.md")
HOP = re.compile(r"`((?:runtime|raft|storage|net|server|bench|tests)/[\w/]+\.(?:cc|h)):([\w:~]+)`")
FOLDER = re.compile(r"^\| `([\w/]+)/` \|", re.M)


def stale_references(text):
    found = []
    for path, function in HOP.findall(text):
        name = function.split("::")[-1]
        full = os.path.join(ROOT, path)
        if not os.path.isfile(full):
            found.append(f"{path}:{function}: no such file")
            continue
        with open(full, encoding="utf-8") as f:
            if not re.search(r"\b" + re.escape(name) + r"\b", f.read()):
                found.append(f"{path}:{function}: {name} is not in {path}")
    for folder in FOLDER.findall(text):
        if not os.path.isdir(os.path.join(ROOT, folder)):
            found.append(f"map row {folder}/: no such folder")
    return found


def self_check():
    """The checker must see a stale hop and a missing folder, and must find the real trace's hops."""
    assert stale_references("`server/api/kv_service.cc:kv_service::no_such_function_xyz`")
    assert stale_references("| `no_such_folder/` | x |")
    assert not stale_references("`server/api/kv_service.cc:kv_service::put`")


if __name__ == "__main__":
    self_check()
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    hops = len(HOP.findall(text))
    assert hops >= 15, f"docs/architecture.md names only {hops} file:function hops; the Put trace is gone?"
    problems = stale_references(text)
    for line in problems:
        print(line)
    print(f"architecture doc: {hops} hops, {len(problems)} stale references")
    sys.exit(1 if problems else 0)
