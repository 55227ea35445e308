"""tests/fuzz/run_fuzzer.py FUZZER SEED_DIR SECONDS - runs one libFuzzer target for a bounded time.

The target starts from the seed corpus in the repo (never written to: new inputs go to a temporary
corpus) and prints one line, "fuzz NAME: N executions, M crashes"; a crash, leak, timeout or
out-of-memory input is printed (hex) with libFuzzer's report, and the exit code is libFuzzer's.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    fuzzer, seeds, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    name = os.path.basename(fuzzer)
    work = tempfile.mkdtemp(prefix="ringkv-fuzz-")
    try:
        corpus = os.path.join(work, "corpus")
        os.mkdir(corpus)
        proc = subprocess.run([fuzzer, "-max_total_time=%d" % seconds, "-timeout=10", "-rss_limit_mb=2048",
                               "-print_final_stats=1", "-artifact_prefix=" + work + "/", corpus, seeds],
                              capture_output=True, text=True, timeout=seconds + 120)
        report = proc.stderr
        runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", report)
        findings = sorted(f for f in os.listdir(work) if f.startswith(("crash-", "leak-", "timeout-", "oom-")))
        print("fuzz %s: %s executions, %d crashes" % (name, runs.group(1) if runs else "?", len(findings)))
        if proc.returncode != 0 or findings:
            print(report[-8000:])
            for finding in findings:
                with open(os.path.join(work, finding), "rb") as f:
                    print("%s: %s" % (finding, f.read().hex()))
            return proc.returncode or 1
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
