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

# deploy/config: every example layout is a valid configuration, and the check can fail
bizoope=$1
mkdir -p "$work"
for config in "$src"/deploy/config/*.yaml; do
    "$bizoope" config check --config "$config" --json >"$work/config.json"
    grep -q '"valid":true' "$work/config.json"
done
sed 's/^  backend: gcs/  backend: s3/' "$src/deploy/config/google-cloud.yaml" >"$work/broken.yaml"
if "$bizoope" config check --config "$work/broken.yaml" 2>"$work/broken.err"; then
    echo "deploy_terraform: bizoope config check accepted storage.backend s3" >&2
    exit 1
fi
grep -q "storage.backend: 's3' is not available" "$work/broken.err"
echo "deploy_terraform: $(ls "$src"/deploy/config/*.yaml | wc -l) example configurations in deploy/config are valid"

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
