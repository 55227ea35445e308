"""tests/server/etcd_stubs.py - protoc-generated python stubs of etcd's v3 API (proto/etcd), for tests
and scripts that need fields Debian's python3-etcd3 stubs predate (fragment, progress_notify, ...).

The stubs are the package `ringkv_test_stubs.etcd`, never a top-level `etcd`: Debian's python3-etcd (the
v2 client Patroni installs) owns `etcd` in dist-packages, and a regular package there beats protoc's
directory without __init__.py even when that directory comes first on sys.path.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROTO_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
STUBS_PACKAGE = "ringkv_test_stubs"  # a top-level name no installed package takes


def generate_stubs(work_dir):
    """protoc's python output for proto/etcd/{rpc,kv,auth}.proto as the package STUBS_PACKAGE.etcd, in
    <work_dir>/python (returned; the only directory that goes on sys.path).

    protoc names a generated import after the .proto import path (`import "etcd/kv.proto"` in rpc.proto
    becomes `from etcd import kv_pb2`), so the .proto files are copied to <work_dir>/proto/STUBS_PACKAGE/etcd/
    with their `etcd/` imports rewritten to `STUBS_PACKAGE/etcd/`: every generated import is then
    `from STUBS_PACKAGE.etcd import ...`. __init__.py files make both levels regular packages."""
    names = ("rpc.proto", "kv.proto", "auth.proto")
    source_root = os.path.join(work_dir, "proto")
    out_dir = os.path.join(work_dir, "python")
    os.makedirs(out_dir)
    os.makedirs(os.path.join(source_root, STUBS_PACKAGE, "etcd"))
    for name in names:
        with open(os.path.join(PROTO_ROOT, "etcd", name)) as f:
            text = f.read()
        text = re.sub(r'^(\s*import\s+(?:public\s+|weak\s+)?")etcd/', r"\g<1>%s/etcd/" % STUBS_PACKAGE, text,
                      flags=re.M)
        leftover = re.findall(r'^\s*import\s+(?:public\s+|weak\s+)?"(?!%s/)[^"]*"' % STUBS_PACKAGE, text, flags=re.M)
        assert not leftover, "%s: import outside %s/ would generate a shadowable module: %s" % (
            name, STUBS_PACKAGE, leftover)
        with open(os.path.join(source_root, STUBS_PACKAGE, "etcd", name), "w") as f:
            f.write(text)
    subprocess.run(["protoc", "-I", source_root, "--python_out", out_dir] +
                   ["%s/etcd/%s" % (STUBS_PACKAGE, name) for name in names], check=True)
    for package_dir in (os.path.join(out_dir, STUBS_PACKAGE), os.path.join(out_dir, STUBS_PACKAGE, "etcd")):
        open(os.path.join(package_dir, "__init__.py"), "a").close()
    return out_dir


def load_rpc_stubs(prefix="ringkv-stubs-"):
    """Generates the stubs in a new directory under /tmp and imports them: returns (rpc_pb2, directory).
    The caller removes the directory when done (it is removed here if anything fails)."""
    stubs_dir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    try:
        python_dir = generate_stubs(stubs_dir)
        sys.path.insert(0, python_dir)
        from ringkv_test_stubs.etcd import rpc_pb2

        # The stubs and everything they import come from python_dir, and no top-level `etcd` was imported.
        for module in ("ringkv_test_stubs.etcd.rpc_pb2", "ringkv_test_stubs.etcd.kv_pb2",
                       "ringkv_test_stubs.etcd.auth_pb2"):
            path = os.path.realpath(sys.modules[module].__file__)
            assert path.startswith(os.path.realpath(python_dir) + os.sep), (module, path)
        assert "etcd" not in sys.modules, sys.modules["etcd"]
        return rpc_pb2, stubs_dir
    except BaseException:
        shutil.rmtree(stubs_dir, ignore_errors=True)
        raise
