#!/usr/bin/env bash
# setup.sh [--tests] - installs what bizoope-batch needs to build (and, with --tests, to run its
# tests: Node and the test fakes' npm packages, systemd-analyze, chromium), from Debian 12's
# packages and npm.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(build-essential cmake pkg-config python3
          libyaml-dev libjansson-dev libzstd-dev zstd libxxhash-dev libsqlite3-dev sqlite3 zlib1g-dev time
          librdkafka-dev libcurl4-openssl-dev libssl-dev libcmocka-dev tzdata
          libmicrohttpd-dev tmux protobuf-compiler
          clang libclang-rt-14-dev clang-format)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The gRPC test fake (tests/fakes/bigquery_write_fake.js) runs on Node: Debian's, unless this
# machine has a node already.
tests=0
[ "${1:-}" = "--tests" ] && tests=1
if [ $tests = 1 ] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
    missing+=(nodejs npm)
fi
# The web console's browser test (tests/integration/console_browser.py) drives Debian's chromium
# with npm puppeteer-core.
if [ $tests = 1 ] && ! command -v chromium >/dev/null; then
    missing+=(chromium)
fi
# deploy/systemd's units are checked with systemd-analyze verify (tests/integration/deploy_terraform.sh)
if [ $tests = 1 ] && ! command -v systemd-analyze >/dev/null; then
    missing+=(systemd)
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The test fakes' npm packages (@grpc/grpc-js, Google's Storage Write API protos), exactly as
# tests/fakes/package-lock.json pins them; again only when the lock file changed.
if [ $tests = 0 ]; then
    exit 0
fi
fakes=$(cd "$(dirname "$0")/../tests/fakes" && pwd)
lock_sum=$(sha256sum "$fakes/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$fakes/node_modules/.bizoope-lock" 2>/dev/null)" != "$lock_sum" ]; then
    echo "setup: npm ci in tests/fakes" >&2
    (cd "$fakes" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$lock_sum" > "$fakes/node_modules/.bizoope-lock"
fi
