"""tests/deploy/install_test.py - `meson install` of this build into a temporary DESTDIR puts in place what a
packaged ringkv needs: the binary, the systemd unit (pointing at that binary and at the default file),
/etc/default/ringkv, the sysusers.d entry for the ringkv user and the ringkv(1) man page; the installed
binary runs, and systemd-analyze verifies the unit.

Arguments: the ringkv binary (so meson builds it first) and the build directory.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD_ROOT = os.path.abspath(sys.argv.pop(2))
sys.argv.pop(1)  # the ringkv binary: only a build dependency here


def build_option(options, name):
    return next(o["value"] for o in options if o["name"] == name)


class Install(unittest.TestCase):
    def setUp(self):
        self.destdir = tempfile.mkdtemp(prefix="ringkv-install-", dir="/tmp")

    def tearDown(self):
        shutil.rmtree(self.destdir, ignore_errors=True)

    def installed(self, path):
        return os.path.join(self.destdir, path.lstrip("/"))

    def test_install_puts_binary_unit_default_file_user_and_man_page(self):
        options = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", BUILD_ROOT],
                                            capture_output=True, text=True, check=True).stdout)
        prefix = build_option(options, "prefix")
        bindir = os.path.join(prefix, build_option(options, "bindir"))
        sysconfdir = os.path.join(prefix, build_option(options, "sysconfdir"))
        mandir = os.path.join(prefix, build_option(options, "mandir"))
        unit_dir = build_option(options, "systemd_unit_dir") or os.path.join(prefix, "lib/systemd/system")
        out = subprocess.run(["meson", "install", "-C", BUILD_ROOT, "--destdir", self.destdir, "--no-rebuild",
                              "--quiet"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

        binary = self.installed(os.path.join(bindir, "ringkv"))
        self.assertTrue(os.access(binary, os.X_OK), binary)
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(version.returncode, 0)
        self.assertIn("Git SHA:", version.stdout)

        unit_path = self.installed(os.path.join(unit_dir, "ringkv.service"))
        with open(unit_path) as f:
            unit = f.read()
        self.assertIn("\nType=notify\n", unit)
        self.assertIn("\nUser=ringkv\n", unit)
        self.assertIn("\nStateDirectory=ringkv\n", unit)
        self.assertIn("\nExecStart=%s/ringkv --data-dir /var/lib/ringkv $DAEMON_ARGS\n" % bindir, unit)
        self.assertIn("\nEnvironmentFile=-%s/default/ringkv\n" % sysconfdir, unit)
        self.assertNotIn("@", unit.split("[Unit]", 1)[1], "an unreplaced @variable@")

        self.assertTrue(os.path.isfile(self.installed(os.path.join(sysconfdir, "default/ringkv"))))
        with open(self.installed(os.path.join(prefix, "lib/sysusers.d/ringkv.conf"))) as f:
            self.assertIn("u ringkv - ", f.read())
        man_page = self.installed(os.path.join(mandir, "man1/ringkv.1"))
        self.assertTrue(os.path.isfile(man_page) or os.path.isfile(man_page + ".gz"), man_page)
        rendered = subprocess.run(["man", "-l", man_page], capture_output=True, text=True, timeout=20,
                                  env=dict(os.environ, MANPAGER="cat", MANWIDTH="100"))
        self.assertIn("etcd-compatible replicated key-value store", rendered.stdout.replace("\u2010", "-"))

        if shutil.which("systemd-analyze"):
            # The unit as it will be read; ExecStart's binary must exist, so the copy verified points at the
            # binary installed under DESTDIR.
            verify_dir = tempfile.mkdtemp(prefix="ringkv-unit-", dir="/tmp")
            self.addCleanup(shutil.rmtree, verify_dir, True)
            copy = os.path.join(verify_dir, "ringkv.service")
            with open(copy, "w") as f:
                f.write(unit.replace("%s/ringkv" % bindir, binary))
            verify = subprocess.run(["systemd-analyze", "verify", "--man=no", copy], capture_output=True, text=True,
                                    timeout=60)
            self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
            self.assertNotIn("ringkv.service:", verify.stderr, verify.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
