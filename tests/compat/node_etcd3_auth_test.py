#!/usr/bin/env python3
"""tests/compat/node_etcd3_auth_test.py - the npm `etcd3` client with its `auth` option (user name and
password) against real etcd 3.4 and ringkv set up alike (auth_test.set_up_auth): puts and gets allowed
and refused, and a wrong password, must answer the same on both.

Usage (meson does this): node_etcd3_auth_test.py RINGKV_BINARY --install-dir DIR (the pinned install of
node_etcd3_test.py, shared)."""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
sys.path.insert(0, HERE)
import node_etcd3_test  # noqa: E402  (install_client, fail; takes the binary from argv[1])
from auth_test import BCRYPT_COST, Etcd, set_up_auth  # noqa: E402
from ringkv_process import RingkvServer  # noqa: E402

SCRIPT_TIMEOUT_S = 60

# argv: endpoint. Prints one JSON list: what each step answered.
SCRIPT = r"""
const { Etcd3 } = require('etcd3');
const endpoint = process.argv[1];
const as = (username, password) => new Etcd3({ hosts: endpoint, auth: { username, password },
                                               faultHandling: { global: undefined, host: undefined } });
const seen = [];
async function step(label, action) {
  try { seen.push(label + ': ok ' + JSON.stringify(await action())); }
  catch (e) { seen.push(label + ': ' + e.constructor.name + ' ' + (e.message || e).toString().split('\n')[0]); }
}
(async () => {
  const alice = as('alice', 'pa'), bob = as('bob', 'pb'), wrong = as('alice', 'no');
  await step('alice put k1', () => alice.put('k1').value('from-node').then(() => null));
  await step('alice get k1', () => alice.get('k1').string());
  await step('alice put z', () => alice.put('z').value('x').then(() => null));
  await step('bob get p/ prefix', () => bob.getAll().prefix('p/').strings());
  await step('bob put p/x', () => bob.put('p/x').value('x').then(() => null));
  await step('bob delete k1', () => bob.delete().key('k1').then(() => null));
  await step('wrong password', () => wrong.get('k1').string());
  for (const c of [alice, bob, wrong]) c.close();
  console.log(JSON.stringify(seen));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def story(node, install_dir, server):
    env = dict(os.environ, NODE_PATH=os.path.join(install_dir, "node_modules"))
    result = subprocess.run([node, "-e", SCRIPT, server.endpoint], capture_output=True, text=True, env=env,
                            timeout=SCRIPT_TIMEOUT_S)
    sys.stdout.write(result.stdout + result.stderr)
    if result.returncode != 0:
        node_etcd3_test.fail("the node script failed (exit %d)" % result.returncode)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--install-dir", required=True)
    args, _ = parser.parse_known_args()
    install_dir = os.path.abspath(args.install_dir)
    node = node_etcd3_test.install_client(install_dir)
    stories = {}
    for label, server in (("etcd", Etcd()), ("ringkv", RingkvServer(["--bcrypt-cost", BCRYPT_COST]))):
        server.start()
        try:
            set_up_auth(server)
            stories[label] = story(node, install_dir, server)
        finally:
            server.cleanup()
    if stories["ringkv"] != stories["etcd"]:
        node_etcd3_test.fail("answers differ:\n etcd   %s\n ringkv %s" % (stories["etcd"], stories["ringkv"]))
    if 'alice get k1: ok "from-node"' not in stories["ringkv"]:
        node_etcd3_test.fail("alice could not read back her put: %s" % stories["ringkv"])
    print("node etcd3 with auth: same answers as etcd 3.4")


if __name__ == "__main__":
    main()
