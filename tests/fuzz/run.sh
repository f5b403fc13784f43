#!/usr/bin/env bash
# tests/fuzz/run.sh - run every libFuzzer harness for a while and say whether any crashed.
#
# Owns running the fuzz binaries, not building them (configure with CC=clang ... -DBZ_FUZZ=ON
# -DBZ_SANITIZE=ON and build first). Each target fuzzes a scratch copy of its seed corpus
# (tests/fuzz/corpus/<target>/), so the repository is never modified; crash, leak, timeout and
# OOM inputs go to a temporary artifacts directory whose paths are printed. Exit status: 0 when
# no target crashed, 1 when one did, 2 on a usage or setup error.
#
# Usage: tests/fuzz/run.sh SECONDS [BUILD_DIR]
#   SECONDS    time per target (-max_total_time)
#   BUILD_DIR  CMake build directory (default: <repo>/build-fuzz)
# Environment: BZ_FUZZ_TARGETS="fuzz_field fuzz_check" runs only those;
#              BZ_FUZZ_ARGS="-jobs=2 ..." adds libFuzzer flags.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
    echo "usage: $0 SECONDS [BUILD_DIR]" >&2
    exit 2
fi
seconds=$1
build=${2:-$repo/build-fuzz}
bindir=$build/tests/fuzz
if [ ! -d "$bindir" ]; then
    echo "$0: $bindir does not exist; configure with -DBZ_FUZZ=ON and build first" >&2
    exit 2
fi

# Inputs longer than this add time, not paths: the shard reader needs a few read blocks
# (4096 bytes) to reach refills and too-long lines across blocks; a field is short; the
# codec's fuzz build uses 61-byte blocks, so a few KB of .gz/.zst already span many of them.
max_len_for() {
    case $1 in
    fuzz_shard_reader) echo 16384 ;;
    fuzz_decompress) echo 4096 ;;
    fuzz_check) echo 8192 ;;
    fuzz_field) echo 256 ;;
    *) echo 4096 ;;
    esac
}

targets=${BZ_FUZZ_TARGETS:-}
if [ -z "$targets" ]; then
    for bin in "$bindir"/fuzz_*; do
        [ -x "$bin" ] && [ -f "$bin" ] && targets="$targets $(basename "$bin")"
    done
fi
if [ -z "$targets" ]; then
    echo "$0: no fuzz_* binaries in $bindir" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/bz-fuzz.XXXXXX") || exit 2
artifacts=$work/artifacts
mkdir -p "$artifacts"
# Scratch for temp files the code under test creates (fuzz_check opens one reject stream per
# shard, twice per input): on tmpfs when there is one, where creating files is cheap.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    scratch_root=$(mktemp -d /dev/shm/bz-fuzz-tmp.XXXXXX) || exit 2
else
    scratch_root=$work/tmp
fi
trap 'rm -rf "$scratch_root"' EXIT
failed=0

for t in $targets; do
    bin=$bindir/$t
    if [ ! -x "$bin" ]; then
        echo "$t: no binary at $bin" >&2
        failed=1
        continue
    fi
    corpus=$work/corpus/$t
    scratch=$scratch_root/$t
    log=$work/$t.log
    mkdir -p "$corpus" "$scratch" "$artifacts/$t"
    if [ -d "$here/corpus/$t" ]; then
        cp -R "$here/corpus/$t/." "$corpus/"
    fi
    # TMPDIR: fuzz_check's reject streams (anonymous temp files) land in the scratch dir.
    # shellcheck disable=SC2086
    TMPDIR=$scratch "$bin" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
        -max_len="$(max_len_for "$t")" -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t/" ${BZ_FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1)
    found=$(find "$artifacts/$t" -type f | sort)
    if [ $rc -eq 0 ] && [ -z "$found" ]; then
        echo "$t: ok, ${execs:-?} execs (${rate:-?}/s), ${cov:-no coverage line}, peak RSS ${rss:-?} MB"
    else
        failed=1
        echo "$t: CRASHED (exit $rc) after ${execs:-?} execs; log: $log"
        grep -E '^(==[0-9]+==ERROR|SUMMARY:|.*invariant violated:)' "$log" | head -n 3 | sed 's/^/    /'
        for f in $found; do
            echo "    input: $f"
        done
    fi
done

rm -rf "$work/corpus" "$scratch_root"
if [ $failed -eq 0 ]; then
    rm -rf "$work"
else
    echo "artifacts and logs kept in $work"
fi
exit $failed
