"""tests/server/seccomp_fallback_test.py - ringkv where io_uring is refused, as in a container.

Docker 25+, containerd 2 and podman's default seccomp profiles make io_uring_setup fail with ENOSYS or
EPERM. Here ringkv runs under a seccomp filter that does exactly that (raw BPF installed through prctl
by a small exec wrapper, then the real binary exec'd with the filter in place):
- with the default --io-backend auto it warns, runs on epoll, serves writes and reads, and keeps every
  acknowledged write across a restart (WAL recovery on the epoll backend's disk pool);
- with --io-backend uring it exits non-zero, naming io_uring_setup and the seccomp cause.
"""
import errno
import os
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ringkv_process  # noqa: E402
from ringkv_process import RingkvServer  # noqa: E402

TARGET_ENV = "RINGKV_SECCOMP_TARGET"

# Installs the filter (io_uring_setup -> -errno, everything else allowed), then execs the target.
# io_uring_setup is syscall 425 on every architecture (the numbers unified in Linux 5.1).
WRAPPER = r'''#!/usr/bin/python3
import ctypes, os, struct, sys
error = int(os.environ.pop("RINGKV_SECCOMP_ERRNO"))
program = b"".join(struct.pack("HBBI", *insn) for insn in [
    (0x20, 0, 0, 0),                       # ld  [nr]
    (0x15, 0, 1, 425),                     # jeq #__NR_io_uring_setup, 0, 1
    (0x06, 0, 0, 0x00050000 | error),      # ret SECCOMP_RET_ERRNO | error
    (0x06, 0, 0, 0x7fff0000),              # ret SECCOMP_RET_ALLOW
])
class sock_fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
libc = ctypes.CDLL(None, use_errno=True)
prog = sock_fprog(len(program) // 8, program)
if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # NO_NEW_PRIVS, SECCOMP
    sys.exit("seccomp filter refused: errno %d" % ctypes.get_errno())
target = os.environ.pop("RINGKV_SECCOMP_TARGET")
os.execv(target, [target] + sys.argv[1:])
'''


class IoUringRefusedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ringkv-seccomp-")
        cls.wrapper = os.path.join(cls.tmp, "refuse_io_uring")
        with open(cls.wrapper, "w") as f:
            f.write(WRAPPER)
        os.chmod(cls.wrapper, stat.S_IRWXU)
        os.environ[TARGET_ENV] = ringkv_process.RINGKV
        os.environ.pop("RINGKV_IO_BACKEND", None)  # the automatic choice is what is tested
        ringkv_process.RINGKV = cls.wrapper

    @classmethod
    def tearDownClass(cls):
        ringkv_process.RINGKV = os.environ.pop(TARGET_ENV)
        os.unlink(cls.wrapper)
        os.rmdir(cls.tmp)

    def run_refused(self, error):
        os.environ["RINGKV_SECCOMP_ERRNO"] = str(error)
        server = RingkvServer().start()
        try:
            log = server.log_text()
            self.assertIn("io_uring unavailable, using the epoll backend", log)
            self.assertIn(os.strerror(error), log)
            self.assertIn('"io-backend":"epoll"', log)
            for i in range(20):
                server.etcdctl("put", "key%d" % i, "value%d" % i)
            server.restart()
            self.assertIn("io_uring unavailable, using the epoll backend", server.log_text())
            got = server.etcdctl("get", "key", "--prefix", "--print-value-only").stdout.split()
            self.assertEqual(sorted(got), sorted("value%d" % i for i in range(20)))
        finally:
            server.cleanup()

    def test_enosys_falls_back_to_epoll_and_keeps_writes(self):
        self.run_refused(errno.ENOSYS)

    def test_eperm_falls_back_to_epoll_and_keeps_writes(self):
        self.run_refused(errno.EPERM)

    def test_forcing_uring_fails_with_a_clear_message(self):
        os.environ["RINGKV_SECCOMP_ERRNO"] = str(errno.EPERM)
        server = RingkvServer(["--io-backend", "uring"])
        try:
            with self.assertRaises(RuntimeError) as failure:
                server.start()
            server.kill()  # reaps the process that exited (cleanup would call its exit a failure)
            self.assertIn("io_uring_setup failed: Operation not permitted", str(failure.exception))
            self.assertIn("seccomp", str(failure.exception))
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
