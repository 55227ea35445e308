"""tests/client/client_suite.py - runs tests/client/client_test (the C++ client library's cases) against
a real 3-member cluster: ringkv (argv[1]) or, with --etcd, a real etcd 3.4 started the same way (same
flags, loopback ports from loopback_ports.py). The C++ binary (argv[2]) gets the members' endpoints and
PIDs in RINGKV_CLIENT_ENDPOINTS / RINGKV_CLIENT_PIDS; its failover cases kill one member by PID. The
cases run in three phases, a killed member restarted in between; every process is stopped by PID.

usage: client_suite.py <ringkv binary> <client_test binary> [--etcd]
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
import cluster_test  # noqa: E402  (takes the ringkv binary from argv[1])
import ringkv_process  # noqa: E402

CLIENT_TEST = os.path.abspath(sys.argv[1])
USE_ETCD = "--etcd" in sys.argv[2:]
# Phases: the failover cases each kill a member, so each runs on a full cluster.
PHASES = ["-*MemberKill*:*LeaderKill*", "*WatchSurvivesMemberKill*", "*LockHeldAcrossLeaderKill*"]


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


def main():
    if USE_ETCD:  # Member.launch runs ringkv_process.RINGKV with etcd's own flag names
        ringkv_process.RINGKV = shutil.which("etcd")
    cluster = cluster_test.Cluster(size=3).start()
    failed = False
    try:
        if cluster.agreed_leader() is None:
            raise AssertionError("the cluster elected no leader")
        for phase in PHASES:
            env = dict(os.environ,
                       RINGKV_CLIENT_ENDPOINTS=",".join(m.endpoint for m in cluster.members),
                       RINGKV_CLIENT_PIDS=",".join(str(m.proc.pid) for m in cluster.members),
                       RINGKV_CLIENT_BACKEND="etcd" if USE_ETCD else "ringkv")
            code = subprocess.run([CLIENT_TEST, "--gtest_filter=" + phase], env=env, timeout=240).returncode
            failed = failed or code != 0
            restart_dead(cluster)
    finally:
        stop_all(cluster)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
