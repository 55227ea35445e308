"""tests/server/loopback_ports.py - loopback ports for test servers that no other test can take.

A port found free by binding port 0 comes from the kernel's ephemeral range, which every outgoing
connection on the machine also draws from: between finding it and the server binding it, a client of
another test (meson runs tests in parallel) may connect out from it, and the server then fails with
"Address already in use". So ports come from below the ephemeral range instead, and each one is
reserved for the life of the test process by a file /tmp/ringkv-test-ports/<port> created with O_EXCL
and holding the owner's PID; a reservation whose owner is gone is taken over.
"""
import atexit
import errno
import os
import random
import socket

RESERVATIONS_DIR = "/tmp/ringkv-test-ports"
FIRST_PORT, LAST_PORT = 20000, 32000  # below Linux's default ephemeral range (32768-60999)

_reserved = []


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _owner_alive(path):
    try:
        with open(path) as f:
            pid = int(f.read().strip() or "0")
    except (OSError, ValueError):
        return True  # being written right now: treat as taken
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _try_reserve(port):
    path = os.path.join(RESERVATIONS_DIR, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if _owner_alive(path):
                return False
            try:
                os.unlink(path)  # its owner died without cleaning up; another taker may race us to O_EXCL
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))  # no SO_REUSEADDR: also refuses a port with TIME_WAIT leftovers
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _release_all():
    for port in _reserved:
        try:
            os.unlink(os.path.join(RESERVATIONS_DIR, str(port)))
        except OSError:
            pass


def free_port():
    """A loopback TCP port outside the ephemeral range, bindable now and reserved until this process exits."""
    os.makedirs(RESERVATIONS_DIR, exist_ok=True)
    low, high = _ephemeral_range()
    last = min(LAST_PORT, low - 1)
    assert last > FIRST_PORT, "ephemeral port range %d-%d leaves no room for test ports" % (low, high)
    if not _reserved:
        atexit.register(_release_all)
    for _ in range(10000):
        port = random.randint(FIRST_PORT, last)
        if port in _reserved or not _try_reserve(port):
            continue
        if _bindable(port):
            _reserved.append(port)
            return port
        os.unlink(os.path.join(RESERVATIONS_DIR, str(port)))
    raise RuntimeError("no free loopback port in %d-%d" % (FIRST_PORT, last))
