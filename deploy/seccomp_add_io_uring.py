#!/usr/bin/python3
"""deploy/seccomp_add_io_uring.py - writes a container seccomp profile that is a default profile plus the
three io_uring system calls (io_uring_setup, io_uring_enter, io_uring_register), which Docker 25+,
containerd 2 and newer podman profiles refuse (ringkv then runs on its epoll backend).

    deploy/seccomp_add_io_uring.py /usr/share/containers/seccomp.json > deploy/seccomp-io_uring.json

The calls are removed from every rule that refuses them (SCMP_ACT_ERRNO) and added to the first
unconditional SCMP_ACT_ALLOW rule; every other rule and default stays as it was.
"""
import json
import sys

IO_URING_CALLS = ["io_uring_setup", "io_uring_enter", "io_uring_register"]


def unconditional(rule):
    return not rule.get("args") and not rule.get("includes") and not rule.get("excludes")


def add_io_uring(profile):
    rules = profile["syscalls"]
    for rule in rules:
        if rule.get("action") != "SCMP_ACT_ALLOW":
            rule["names"] = [name for name in rule.get("names", []) if name not in IO_URING_CALLS]
    rules[:] = [rule for rule in rules if rule.get("names") or rule.get("action") == "SCMP_ACT_ALLOW"]
    allow = next(rule for rule in rules if rule.get("action") == "SCMP_ACT_ALLOW" and unconditional(rule))
    allow["names"] = sorted(set(allow["names"]) | set(IO_URING_CALLS))
    return profile


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        json.dump(add_io_uring(json.load(f)), sys.stdout, indent=2)
    sys.stdout.write("\n")
