#!/usr/bin/env bash
# Installs ringkv's build, test and reference dependencies from Debian's packages when any is missing.
# Idempotent and quiet when everything is present. Must run as root on Debian 12.
set -euo pipefail
packages=(
  build-essential pkg-config meson ninja-build
  liburing-dev libflatbuffers-dev flatbuffers-compiler libxxhash-dev
  libnghttp2-dev libprotobuf-dev protobuf-compiler libssl-dev libcrypt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev
  etcd-server etcd-client golang-etcd-server-dev python3 python3-etcd3 python3-grpcio
  # python3-etcd (etcd v2 client, top-level module `etcd`, installed with Patroni) is not used by any test:
  # it is here so the python tests always run next to it and never name a module it could shadow.
  python3-etcd
  iproute2 nftables procps curl gnuplot-nox
  # tests/discovery: a real v2 discovery service (discovery.etcd.io's server, over etcd --enable-v2), an HTTP
  # proxy for --discovery-proxy, and a DNS server for SRV records (dnsmasq-base: the binary, no service).
  etcd-discovery tinyproxy-bin dnsmasq-base
  # tests/fuzz: libFuzzer targets built with Debian's clang (the fuzzer runtime is in libclang-rt-14-dev).
  clang libclang-rt-14-dev
  # logagent/: Kafka delivery (librdkafka, meson dependency 'rdkafka'); tests/logagent reads topics back with kcat.
  librdkafka-dev kcat
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
