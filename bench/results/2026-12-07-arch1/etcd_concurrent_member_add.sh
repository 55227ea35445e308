#!/bin/bash
# Recorded 2026-12-07 with etcd 3.4.23 on the 2-core dev machine (see README in this folder):
#   round 1: rc 1 0 | Error: etcdserver: unhealthy cluster
#   round 2: rc 0 0 |
#   (rounds 3-6: one add timed out - "context deadline exceeded" - while the previous round's removals settled)
# The evidence for tests/cluster/membership_test.py::test_concurrent_changes_are_applied_one_at_a_time.
# 3-member real etcd 3.4 on loopback; two concurrent voter adds to two members; prints outcomes.
set -u
base=/tmp/etcd-cc; rm -rf $base; mkdir -p $base
ic="e1=http://127.0.0.1:23801,e2=http://127.0.0.1:23802,e3=http://127.0.0.1:23803"
pids=()
for i in 1 2 3; do
  etcd --name e$i --data-dir $base/e$i --listen-peer-urls http://127.0.0.1:2380$i --initial-advertise-peer-urls http://127.0.0.1:2380$i \
    --listen-client-urls http://127.0.0.1:2379$i --advertise-client-urls http://127.0.0.1:2379$i --initial-cluster $ic \
    --initial-cluster-state new --initial-cluster-token t >$base/e$i.log 2>&1 &
  pids+=($!)
done
export ETCDCTL_API=3
sleep 8
for round in 1 2 3 4 5 6; do
  p1=$((24000+round*2)); p2=$((24001+round*2))
  etcdctl --endpoints 127.0.0.1:23791 member add a$round --peer-urls=http://127.0.0.1:$p1 >$base/o1 2>&1 & a=$!
  etcdctl --endpoints 127.0.0.1:23792 member add b$round --peer-urls=http://127.0.0.1:$p2 >$base/o2 2>&1 & b=$!
  wait $a; ra=$?; wait $b; rb=$?
  echo "round $round: rc $ra $rb | $(grep -h Error $base/o1 $base/o2 | tr '\n' ' ')"
  for id in $(etcdctl --endpoints 127.0.0.1:23793 member list | grep -v ' e[123],' | cut -d, -f1); do
    etcdctl --endpoints 127.0.0.1:23791 member remove $id >/dev/null; done
  sleep 6
done
kill ${pids[@]}; wait
