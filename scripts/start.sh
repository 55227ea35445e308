#!/usr/bin/env bash
# The README's start command: installs missing Debian packages, builds ringkv into build/, and starts a
# single-node server on 127.0.0.1:2379 with its data in ./default.ringkv. Extra arguments go to ringkv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build ringkv >/dev/null
exec build/ringkv "$@"
