#!/usr/bin/env bash
# setup.sh - installs what bizoope-batch needs to build and test, from Debian 12's packages.
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
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
