#!/bin/sh
# A podhook built without sanitizers, for the proof tests that measure memory (valgrind memcheck
# cannot run under ASan; ASan's shadow and quarantine would swamp a max-RSS figure): a build directory
# of its own, set up once, then built incrementally; the program copied to OUTPUT.
#   plain-build.sh SOURCE_ROOT BUILD_DIR OUTPUT
set -eu
src=$1 dir=$2 out=$3
if [ ! -f "$dir/build.ninja" ]; then
        rm -rf "$dir"
        meson setup "$dir" "$src" -Db_sanitize=none -Dtests=false -Dbuildtype=debugoptimized >"$dir.log" 2>&1 ||
                { cat "$dir.log" >&2; exit 1; }
fi
ninja -C "$dir" agent/podhook >"$dir.log" 2>&1 || { tail -n 40 "$dir.log" >&2; exit 1; }
cp "$dir/agent/podhook" "$out.tmp"
mv "$out.tmp" "$out"
