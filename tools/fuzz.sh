#!/bin/bash
# Runs one fuzz target of tests/fuzz with libFuzzer for a while:
#   tools/fuzz.sh TARGET SECONDS [LIBFUZZER-OPTION...]
#   tools/fuzz.sh --list
# Builds every target with clang, ASan, UBSan and libFuzzer in build-fuzz/ (installing clang and the
# libFuzzer runtime when they are missing: Debian 12 ships libFuzzer in libclang-rt-14-dev), starts from
# the seeds of tests/fuzz/corpus/TARGET (read only) and writes what it finds to a new directory under
# /tmp: corpus/ (new inputs that reach new code), crash-*, leak-*, timeout-*, oom-* (findings) and
# fuzz.log. Exits 0 when the run found nothing, 1 when it did. Not part of the test suite; the seeds are
# replayed by every normal test run (unit tests fuzz-TARGET).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
fuzzdir=$top/tests/fuzz
builddir=${PODHOOK_FUZZ_BUILDDIR:-$top/build-fuzz}

targets() {
        local f n
        for f in "$fuzzdir"/fuzz-*.c; do
                n=${f##*/fuzz-}
                n=${n%.c}
                [ "$n" = main ] || echo "$n"
        done
}

usage() {
        echo "usage: $0 TARGET SECONDS [LIBFUZZER-OPTION...] | --list" >&2
        exit 2
}

if [ "${1:-}" = --list ]; then
        targets
        exit 0
fi
[ $# -ge 2 ] || usage
target=$1
seconds=$2
shift 2
targets | grep -qx -- "$target" || {
        echo "fuzz: no target '$target' (tools/fuzz.sh --list)" >&2
        exit 2
}
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || usage

# clang that can link -fsanitize=fuzzer.
libfuzzer_links() {
        command -v clang > /dev/null &&
                printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' |
                clang -x c -fsanitize=fuzzer -o /dev/null - > /dev/null 2>&1
}
install_packages() {
        local sudo=()
        [ "$(id -u)" = 0 ] || sudo=(sudo)
        echo "fuzz: installing $*"
        export DEBIAN_FRONTEND=noninteractive
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" > /tmp/podhook-fuzz-apt.log 2>&1 || {
                tail -n 20 /tmp/podhook-fuzz-apt.log >&2
                exit 1
        }
}
if ! libfuzzer_links; then
        install_packages clang libclang-rt-dev # libFuzzer's runtime
        libfuzzer_links || {
                echo "fuzz: clang still cannot link -fsanitize=fuzzer" >&2
                exit 1
        }
fi
# The cfn-xml target compares its reader with libxml2 when that is there (setup-host.sh installs it).
if ! pkg-config --exists libxml-2.0; then
        install_packages libxml2-dev
        rm -rf "$builddir"
fi

if [ ! -f "$builddir/build.ninja" ]; then
        log=$(mktemp /tmp/podhook-fuzz-setup.XXXXXX)
        # clang, unlike gcc, warns about the unused static inline helpers PH_DEFINE_CLEANUP makes in a .c file.
        CC=clang meson setup "$builddir" "$top" -Dfuzz=true -De2e=false -Db_sanitize=address,undefined \
                -Db_lundef=false --buildtype=debugoptimized -Dc_args=-Wno-unused-function > "$log" 2>&1 || {
                cat "$log" >&2
                rm -f "$log"
                exit 1
        }
        rm -f "$log"
fi
ninja -C "$builddir" "tests/fuzz/fuzz-$target" > /dev/null || {
        ninja -C "$builddir" "tests/fuzz/fuzz-$target" >&2 || true
        exit 1
}

out=$(mktemp -d "/tmp/podhook-fuzz-$target.XXXXXX")
mkdir "$out/corpus"
# Inputs up to 16 KiB: a few large seeds (a 120 KB line, deep nesting) would otherwise set libFuzzer's
# limit and slow every execution down; they are replayed whole by the unit tests. -max_len=N overrides.
opts=(-max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
      -artifact_prefix="$out/")
[ -f "$fuzzdir/$target.dict" ] && opts+=(-dict="$fuzzdir/$target.dict")
echo "fuzz: $target for $seconds s; findings and new inputs go to $out"
# New inputs land in the first directory; the seeds in the repository are only read.
status=0
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
        "$builddir/tests/fuzz/fuzz-$target" "${opts[@]}" "$@" "$out/corpus" "$fuzzdir/corpus/$target" \
        > "$out/fuzz.log" 2>&1 || status=$?

grep -E '^#[0-9]+[[:space:]]+DONE|^stat::|^Done [0-9]+ runs' "$out/fuzz.log" || tail -n 5 "$out/fuzz.log"
findings=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' -o -name 'slow-unit-*' \) | sort)
echo "fuzz: $(find "$out/corpus" -type f | wc -l) new inputs in $out/corpus; log $out/fuzz.log"
if [ -n "$findings" ] || [ "$status" != 0 ]; then
        echo "fuzz: FINDINGS (libFuzzer exit $status):"
        for f in $findings; do echo "  $f"; done
        echo "fuzz: reproduce with: $builddir/tests/fuzz/fuzz-$target FILE"
        exit 1
fi
echo "fuzz: nothing found"
