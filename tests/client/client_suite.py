"""tests/client/client_suite.py - runs tests/client/client_test (the C++ client library's cases) against
a real 3-member cluster: ringkv (argv[1]) or, with --etcd, a real etcd 3.4 started the same way (same
flags, loopback ports from loopback_ports.py). The C++ binary (argv[2]) gets the members' endpoints and
PIDs in RINGKV_CLIENT_ENDPOINTS / RINGKV_CLIENT_PIDS; its failover cases kill one member by PID. The
cases run in three phases, a killed member restarted in between; every process is stopped by PID.
Last, the interop phase: a python-etcd3 Lock and the C++ key_lock of the same name exclude each other.

usage: client_suite.py <ringkv binary> <client_test binary> [--etcd]
"""
import os
import shutil
import subprocess
import sys
import time

import etcd3

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
import cluster_test  # noqa: E402  (takes the ringkv binary from argv[1])
import ringkv_process  # noqa: E402

CLIENT_TEST = os.path.abspath(sys.argv[1])
USE_ETCD = "--etcd" in sys.argv[2:]
# Phases: the failover cases each kill a member, so each runs on a full cluster.
PHASES = ["-*MemberKill*:*LeaderKill*:*Interop*:*Secure*", "*WatchSurvivesMemberKill*", "*LockHeldAcrossLeaderKill*"]


def stop_all(cluster):
    for m in cluster.members:  # by PID: SIGTERM if alive (SIGKILL after the timeout), reap if dead
        if m.proc is not None and m.proc.poll() is None:
            try:
                m.stop()
            except RuntimeError:
                pass
        else:
            m.kill()
        shutil.rmtree(m.data_dir, ignore_errors=True)
        try:
            os.unlink(m.log_path)
        except OSError:
            pass


def restart_dead(cluster):
    for m in cluster.members:
        if m.proc is None or m.proc.poll() is not None:
            m.kill()
            m.launch()
    if cluster.agreed_leader() is None:
        raise AssertionError("no leader after restarting the killed member")


def client_env(cluster, **extra):
    return dict(os.environ,
                RINGKV_CLIENT_ENDPOINTS=",".join(m.endpoint for m in cluster.members),
                RINGKV_CLIENT_PIDS=",".join(str(m.proc.pid) for m in cluster.members),
                **extra)


def python_lock_interop(cluster):
    """A python-etcd3 Lock and the C++ key_lock of the same name exclude each other, both ways."""
    name = "interop-%d" % os.getpid()
    env = client_env(cluster, RINGKV_CLIENT_INTEROP_LOCK=name)
    py = etcd3.client(host="127.0.0.1", port=cluster.members[0].port, timeout=10)
    held = py.lock(name, ttl=30)
    assert held.acquire(timeout=5), "python could not take a free lock"
    code = subprocess.run([CLIENT_TEST, "--gtest_filter=*KeyLockRefusedWhilePythonHolds*"], env=env, timeout=60).returncode
    held.release()
    cxx = subprocess.Popen([CLIENT_TEST, "--gtest_filter=*KeyLockHeldAgainstPython*"], env=env)
    try:
        deadline = time.time() + 15
        while py.get("interop-marker/" + name)[0] is None and time.time() < deadline and cxx.poll() is None:
            time.sleep(0.05)
        assert py.get("interop-marker/" + name)[0] is not None, "the C++ lock was not taken"
        # timeout=0: one attempt (a contended python-etcd3 acquire() that waits hits its tenacity bug,
        # see tests/compat/python_etcd3_test.py); a failed attempt returns False.
        assert not py.lock(name, ttl=30).acquire(timeout=0), "python took a lock the C++ process holds"
        code = cxx.wait(30) or code
    finally:
        if cxx.poll() is None:
            cxx.kill()
            cxx.wait()
    again = py.lock(name, ttl=30)
    assert again.acquire(timeout=5), "python could not take the lock the C++ process released"
    again.release()
    py.close()
    print("python-etcd3 lock interop: %s" % ("ok" if code == 0 else "FAILED"))
    return code == 0


def main():
    if USE_ETCD:  # Member.launch runs ringkv_process.RINGKV with etcd's own flag names
        ringkv_process.RINGKV = shutil.which("etcd")
    cluster = cluster_test.Cluster(size=3).start()
    failed = False
    try:
        if cluster.agreed_leader() is None:
            raise AssertionError("the cluster elected no leader")
        for phase in PHASES:
            env = client_env(cluster)
            code = subprocess.run([CLIENT_TEST, "--gtest_filter=" + phase], env=env, timeout=240).returncode
            failed = failed or code != 0
            restart_dead(cluster)
        failed = not python_lock_interop(cluster) or failed
    finally:
        stop_all(cluster)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
