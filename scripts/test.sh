#!/usr/bin/env bash
# test.sh - the test command: installs what is missing, builds, and runs every test twice
# (normal build, then AddressSanitizer + UndefinedBehaviorSanitizer), then a short libFuzzer
# run per harness, benchmark smoke runs and the source checks. Exits non-zero on any failure.
#   FUZZ_SECONDS=N  seconds per fuzz target (default 20; 0 skips fuzzing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh --tests
bash scripts/checksrc.sh

echo "== build (release) and ctest"
bash scripts/build.sh build
(cd build && ctest --output-on-failure -j 2 -LE load)

echo "== build (ASan + UBSan) and ctest"
bash scripts/build.sh build-asan -DBZ_SANITIZE=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 2 -LE load)

fuzz_seconds=${FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ] && [ -f tests/fuzz/run.sh ]; then
    echo "== fuzz (${fuzz_seconds}s per harness)"
    CC=clang bash scripts/build.sh build-fuzz -DBZ_FUZZ=ON -DBZ_TESTS=OFF -DBZ_SANITIZE=ON
    bash tests/fuzz/run.sh "$fuzz_seconds" build-fuzz
fi

echo "== benchmarks (smoke mode: ctest -L load)"
(cd build && ctest --output-on-failure -L load)

echo "== the Debian package: build, install, run the demo with it, remove"
if [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then
    bash scripts/package.sh --check
else
    echo "(skipped: installing a package needs root or sudo without a password)"
fi
echo "== all tests passed"
