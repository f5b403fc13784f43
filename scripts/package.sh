#!/usr/bin/env bash
# package.sh - the Debian package: a release build (no tests, no -Werror: a newer compiler's new
# warning must not break a user's build) in build-deb/, man pages from --help (help2man), and
# `cpack -G DEB` -> build-deb/bizoope_<version>_<arch>.deb.
#   --check   also install the package on this machine (root: apt-get install ./the.deb), run
#             the demo with the installed /usr/bin/bizoope, check the man pages, completion and
#             units are where Debian users look, and remove the package again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
check=false
[ "${1:-}" = --check ] && check=true

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo -n"
if ! command -v help2man >/dev/null || ! command -v dpkg-shlibdeps >/dev/null; then
    $SUDO apt-get install -y -qq --no-install-recommends help2man dpkg-dev >/dev/null
fi

echo "== release build in build-deb/"
cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DBZ_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr \
    >build-deb.log 2>&1 || { cat build-deb.log; exit 1; }
cmake --build build-deb -j "$(nproc)" >>build-deb.log 2>&1 || { tail -50 build-deb.log; exit 1; }
(cd build-deb && cpack -G DEB >>../build-deb.log 2>&1) || { tail -50 build-deb.log; exit 1; }
deb=$(ls build-deb/bizoope_*.deb)
echo "built $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'

$check || exit 0
echo "== installing $deb on this machine"
$SUDO apt-get install -y -qq "./$deb" >/dev/null
trap '$SUDO apt-get remove -y -qq bizoope >/dev/null 2>&1 || true' EXIT
for f in /usr/bin/bizoope /usr/bin/bizoope-coordinator /usr/bin/bizoope-worker \
    /usr/share/man/man1/bizoope.1.gz /usr/share/man/man1/bizoope-worker.1.gz \
    /usr/share/bash-completion/completions/bizoope /lib/systemd/system/bizoope.service \
    /lib/systemd/system/bizoope-coordinator.service /usr/share/doc/bizoope/feed-format.md \
    /usr/share/doc/bizoope/examples/single-machine.yaml; do
    [ -e "$f" ] || { echo "package.sh: $f is not installed" >&2; exit 1; }
done
getent passwd bizoope >/dev/null || { echo "package.sh: no bizoope user" >&2; exit 1; }
for b in bizoope bizoope-coordinator bizoope-worker; do
    "/usr/bin/$b" --version | grep -q "^$b $(sed -n 's/^project(bizoope_batch VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)" ||
        { echo "package.sh: $b --version disagrees with the project's version" >&2; exit 1; }
done
echo "== the demo with the installed bizoope"
demo=$(mktemp -d)
BIZOOPE=/usr/bin/bizoope DEMO_ROWS=20000 DEMO_DIR="$demo/demo" bash scripts/demo.sh | tail -25
rm -rf "$demo"
echo "== package check passed: installed, ran the demo, removed"
