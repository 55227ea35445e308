#!/usr/bin/env python3
"""tests/server/layering_test.py - every folder includes only the layers below it.

The order (docs/architecture.md): runtime < raft (pure, includes nothing of ours) ; runtime < storage ;
runtime < net ; and inside server/: common < auth < replica < api < frontend < process, and
common < auth < replica < bootstrap < process. A file may include its
own layer and any layer listed as below it. Fails naming each include that goes up or sideways."""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# layer -> the layers its files may include (besides itself). proto/ is generated code, usable by all.
ALLOWED = {
    "raft": set(),
    "runtime": set(),
    "storage": {"runtime", "raft"},
    "net": {"runtime", "raft"},
    "client": {"runtime", "net"},
    "logagent": {"runtime", "net", "client"},
    "server/common": {"runtime", "raft", "storage", "net"},
    "server/auth": {"runtime", "raft", "storage", "net", "server/common"},
    "server/replica": {"runtime", "raft", "storage", "net", "server/common", "server/auth"},
    "server/api": {"runtime", "raft", "storage", "net", "server/common", "server/auth", "server/replica"},
    "server/frontend": {"runtime", "raft", "storage", "net", "server/common", "server/auth", "server/replica", "server/api"},
    "server/bootstrap": {"runtime", "raft", "storage", "net", "server/common", "server/auth", "server/replica"},
    "server/process": {"runtime", "raft", "storage", "net", "server/common", "server/auth", "server/replica", "server/api",
                       "server/frontend", "server/bootstrap"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    """The layer a repository-relative path belongs to (longest match), or None."""
    best = None
    for layer in ALLOWED:
        if path == layer or path.startswith(layer + "/"):
            if best is None or len(layer) > len(best):
                best = layer
    return best


def violations():
    found = []
    for layer in ALLOWED:
        for folder, _, files in os.walk(os.path.join(ROOT, layer)):
            for name in files:
                if not name.endswith((".h", ".cc")):
                    continue
                path = os.path.join(folder, name)
                source = os.path.relpath(path, ROOT)
                if layer_of(source) != layer:
                    continue  # a deeper layer's file, checked under that layer
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                for included in INCLUDE.findall(text):
                    target = layer_of(included)
                    if target is None or target == layer:
                        continue  # proto/ or a system/third-party header, or its own layer
                    if target not in ALLOWED[layer]:
                        found.append(f"{source}: includes {included} ({layer} may not include {target})")
    return found


def self_check():
    """The checker itself must see an upward include: a frontend header included by replica."""
    assert layer_of("server/replica/raft_driver.h") == "server/replica"
    assert layer_of("server/frontend/x.h") not in ALLOWED["server/replica"]
    assert layer_of("storage/wal/wal.h") == "storage"
    assert layer_of("etcd/rpc.pb.h") is None


if __name__ == "__main__":
    self_check()
    problems = violations()
    for line in problems:
        print(line)
    print(f"layering: {len(problems)} upward or sideways includes")
    sys.exit(1 if problems else 0)
