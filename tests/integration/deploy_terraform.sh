#!/usr/bin/env bash
# deploy_terraform.sh BIZOOPE SRC_DIR WORK_DIR - offline checks of deploy/: the Google Cloud
# Terraform (tests/deploy/check_terraform.js: every .tf parsed with HashiCorp's HCL parser, the
# properties listed at its top asserted, and bad fixtures refused), then `systemd-analyze
# verify` of the units in deploy/systemd, in a scratch root that has the system's units and stub
# executables for the binaries the units start (so a missing binary is not an error here, and
# anything else systemd says is).
set -euo pipefail
src=$2
work=$3

node "$src/tests/deploy/check_terraform.js" "$src"

if ! command -v systemd-analyze >/dev/null; then
    echo "deploy_terraform: systemd-analyze is not installed (Debian package systemd; scripts/setup.sh --tests installs it): the units in deploy/systemd cannot be verified" >&2
    exit 1
fi
root="$work/systemd-root"
rm -rf "$root"
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
units=()
for unit in "$src"/deploy/systemd/*.service "$src"/deploy/systemd/*.timer; do
    cp "$unit" "$root/etc/systemd/system/"
    units+=("$root/etc/systemd/system/$(basename "$unit")")
    # Exec*=[-@:+!]PATH ...: a stub executable at PATH inside the root
    sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$unit" | while read -r exe; do
        mkdir -p "$root$(dirname "$exe")"
        printf '#!/bin/sh\nexit 0\n' > "$root$exe"
        chmod 0755 "$root$exe"
    done
done
out=$(systemd-analyze verify --root="$root" "${units[@]}" 2>&1) && rc=0 || rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "deploy_terraform: systemd-analyze verify found problems in deploy/systemd (exit $rc):"
    echo "$out"
    exit 1
fi
echo "deploy_terraform: systemd-analyze verify: ${#units[@]} units in deploy/systemd are clean ($(systemd-analyze --version | head -n 1))"
