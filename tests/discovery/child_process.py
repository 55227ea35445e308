"""tests/discovery/child_process.py - one child process of a discovery test (a ringkv member, etcd, the discovery
service, a proxy, dnsmasq) with its output in <workdir>/<name>.log; stopped by its PID (SIGTERM, then
SIGKILL after STOP_TIMEOUT_S)."""
import os
import signal
import subprocess

STOP_TIMEOUT_S = 15


class Process:
    def __init__(self, name, args, workdir, env=None):
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        """SIGTERM by PID (SIGKILL if it does not exit in time); the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class ProcessGroup:
    """The processes a test class started in `workdir`; stop_all() stops them by PID, newest first."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.processes = []

    def spawn(self, name, args):
        process = Process(name, args, self.workdir)
        self.processes.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.processes):
            process.stop()
        self.processes = []
