#!/bin/bash
# bench/compare/instructions.sh BUILD_DIR [PORT] - instructions one member executes for a fixed workload.
#
# Wall-clock rows on a shared 2-core machine move ±25% between runs minutes apart; instruction counts
# do not (valgrind's callgrind counts every user-space instruction the server executes, whatever else
# the machine does). The member (--shards 1, io_uring backend, fsync on) serves, in order:
#   20,000 puts (4 conns x 64 clients, 8 B keys, 256 B values), 10,000 txn-puts, 20,000 linearizable ranges
# and is stopped with SIGTERM (SHARDS, CONNS and CLIENTS override --shards 1 and 4 x 64); the script prints callgrind's total and writes the per-function profile
# to $OUT.top (OUT defaults to ./instructions-<build dir name>). Kernel work (syscalls, io_uring, TCP)
# is not counted: this compares the code's own cost, not the machine's.
set -euo pipefail
B=$(cd "$1" && pwd); PORT=${2:-34810}; OUT=${OUT:-./instructions-$(basename "$B")}
SHARDS=${SHARDS:-1}; CONNS=${CONNS:-4}; CLIENTS=${CLIENTS:-64}
D=$(mktemp -d /tmp/ringkv-instructions-XXXX)
valgrind --tool=callgrind --callgrind-out-file="$OUT.cg" --dump-instr=no "$B/ringkv" --name m0 --data-dir "$D/m0" \
  --listen-client-urls "http://127.0.0.1:$PORT" --advertise-client-urls "http://127.0.0.1:$PORT" \
  --listen-peer-urls "http://127.0.0.1:$((PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((PORT + 1))" \
  --initial-cluster "m0=http://127.0.0.1:$((PORT + 1))" --shards "$SHARDS" > "$D/log" 2>&1 &
P=$!
trap 'kill -9 $P 2>/dev/null || true; rm -rf "$D"' EXIT
for _ in $(seq 600); do etcdctl --endpoints="127.0.0.1:$PORT" endpoint health >/dev/null 2>&1 && break; sleep 0.5; done
bench() { "$B/ringkv-bench" --endpoints="127.0.0.1:$PORT" --conns="$CONNS" --clients="$CLIENTS" "$@" >/dev/null; }
bench put --total=20000 --key-size=8 --val-size=256 --sequential-keys --key-space-size=100000
bench txn-put --total=10000 --key-size=8 --val-size=256 --key-space-size=100000
bench range foo --total=20000 --consistency=l
kill -TERM $P; wait $P || true
callgrind_annotate "$OUT.cg" > "$OUT.full" 2>/dev/null; head -60 "$OUT.full" > "$OUT.top"; rm -f "$OUT.full"
echo "$(basename "$B") $(grep -m1 'PROGRAM TOTALS' "$OUT.top" | awk '{print $1}') instructions for 50,000 requests"
