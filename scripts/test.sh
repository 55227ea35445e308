#!/usr/bin/env bash
# The README's test command, and exactly what CI runs (.ci/run):
#   1. installs missing Debian packages (scripts/deps.sh),
#   2. builds ringkv (optimised, debug info, assertions on, warnings as errors) into build/,
#   3. runs every meson test suite,
#   4. builds again with ASan+UBSan into build-asan/ and runs every suite not tagged `slow`,
#   5. prints one closing line: "tests: N passed, N failed, N skipped".
# Exits non-zero if a build or any test fails.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh || exit 1

configure() {  # configure DIR [meson options...]: set up a build dir, or refresh its options
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then meson setup --reconfigure "$dir" "$@" >/dev/null
  else meson setup "$dir" "$@" >/dev/null; fi
}

status=0
configure build --werror || exit 1
ninja -C build || exit 1
meson test -C build --print-errorlogs --num-processes "$(nproc)" || status=1

configure build-asan --werror -Db_sanitize=address,undefined -Dbench=false -Dbuildtype=debug || exit 1
ninja -C build-asan || exit 1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --num-processes "$(nproc)" --no-suite slow \
    --timeout-multiplier 3 || status=1

python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        result = json.loads(line).get("result", "")
        if result in ("OK", "EXPECTEDFAIL"): passed += 1
        elif result == "SKIP": skipped += 1
        else: failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
