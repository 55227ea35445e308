#!/usr/bin/env python3
"""tests/compat/node_etcd3_tls_test.py - the npm `etcd3` client over TLS (its `credentials` option) against
a real ringkv with --client-cert-auth, certificates made by the openssl CLI for this run.

Usage (meson does this): node_etcd3_tls_test.py RINGKV_BINARY --install-dir DIR
The client is installed as node_etcd3_test.py installs it (the same pinned package and DIR). Checks: with
the CA, a client certificate and its key, put/get/watch work; with a client certificate from another CA the
calls fail and nothing is written."""
import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
sys.path.insert(0, HERE)
import node_etcd3_test  # noqa: E402  (install_client, fail)
import tls_test  # noqa: E402  (make_pki, Server; takes the binary from argv[1])

SCRIPT_TIMEOUT_S = 90

# argv: endpoint ca cert key mode ("ok": put/get/watch must work; "refused": every call must fail)
SCRIPT = r"""
const fs = require('fs');
const { Etcd3 } = require('etcd3');
const [endpoint, ca, cert, key, mode] = process.argv.slice(1);
const client = new Etcd3({
  hosts: endpoint,
  credentials: { rootCertificate: fs.readFileSync(ca), certChain: fs.readFileSync(cert),
                 privateKey: fs.readFileSync(key) },
  faultHandling: { watchBackoff: undefined },
});
const deadline = (ms) => new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), ms));
async function ok() {
  await client.put('node-tls').value('v1');
  const got = await client.get('node-tls').string();
  if (got !== 'v1') throw new Error('get returned ' + got);
  const watcher = await client.watch().key('node-tls').create();
  const seen = new Promise((resolve) => watcher.on('put', (kv) => resolve(kv.value.toString())));
  await client.put('node-tls').value('v2');
  const value = await Promise.race([seen, deadline(10000)]);
  if (value !== 'v2') throw new Error('watch saw ' + value);
  await watcher.cancel();
  console.log('NODE_TLS_OK');
}
async function refused() {
  try {
    await Promise.race([client.put('node-tls-stranger').value('x'), deadline(20000)]);
  } catch (e) {
    const text = (e.message || e).toString().split('\n')[0];
    if (text === 'timed out') throw new Error('no answer within 20 s: neither written nor refused');
    console.log('NODE_TLS_REFUSED ' + text);
    return;
  }
  throw new Error('a put with another CA\'s certificate succeeded');
}
(mode === 'ok' ? ok() : refused()).then(() => { client.close(); process.exit(0); },
                                        (e) => { console.error(e); client.close(); process.exit(1); });
"""


def run_node(node, install_dir, server, pki, name, mode):
    env = dict(os.environ, NODE_PATH=os.path.join(install_dir, "node_modules"))
    args = [node, "-e", SCRIPT, server.url, os.path.join(pki, "ca.crt"), os.path.join(pki, name + ".crt"),
            os.path.join(pki, name + ".key"), mode]
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=SCRIPT_TIMEOUT_S)
    sys.stdout.write(result.stdout + result.stderr)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--install-dir", required=True)
    args, _ = parser.parse_known_args()
    install_dir = os.path.abspath(args.install_dir)
    node = node_etcd3_test.install_client(install_dir)
    pki = tls_test.make_pki()
    server = tls_test.Server(pki, ["--cert-file", os.path.join(pki, "server.crt"),
                                   "--key-file", os.path.join(pki, "server.key"),
                                   "--trusted-ca-file", os.path.join(pki, "ca.crt"), "--client-cert-auth"])
    try:
        server.start(health_args=["--cacert", os.path.join(pki, "ca.crt"), "--cert", os.path.join(pki, "client.crt"),
                                  "--key", os.path.join(pki, "client.key")])
        good = run_node(node, install_dir, server, pki, "client", "ok")
        if good.returncode != 0 or "NODE_TLS_OK" not in good.stdout:
            node_etcd3_test.fail("put/get/watch over TLS with a client certificate failed")
        stranger = run_node(node, install_dir, server, pki, "stranger", "refused")
        if stranger.returncode != 0 or "NODE_TLS_REFUSED" not in stranger.stdout:
            node_etcd3_test.fail("a client certificate from another CA was not refused")
        tls = ["--cacert", os.path.join(pki, "ca.crt"), "--cert", os.path.join(pki, "client.crt"),
               "--key", os.path.join(pki, "client.key")]
        keys = server.etcdctl("get", "node-tls", "--prefix", "--keys-only", tls=tls).stdout.split()
        if keys != ["node-tls"]:
            node_etcd3_test.fail("expected only node-tls to be written, found %r" % keys)
    finally:
        code = server.cleanup()
        shutil.rmtree(pki, ignore_errors=True)
    if code != 0:
        node_etcd3_test.fail("ringkv did not exit 0 on SIGTERM (%s)" % code)
    print("node etcd3 over TLS: ok")


if __name__ == "__main__":
    main()
