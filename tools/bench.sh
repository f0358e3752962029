#!/bin/bash
# podhook against the floor (raw Engine API calls), the docker CLI, docker-compose, `podman kube play`
# and os-collect-config, in one run: the same pods side by side, interleaved, several rounds; medians
# and paired ratios as a table on stdout and in docs/benchmarks.md. Not part of the pass/fail suite.
#
#   tools/bench.sh [--rounds N] [--quick] [--no-podman] [--out FILE]
#
# It installs what it compares against (Debian's docker-compose, os-collect-config, valgrind) when
# missing, builds its own release build of podhook in build-bench/, and the local test images on each
# engine. The engines are shared: on a machine where tests run, run it under their locks:
#   flock -o /tmp/podhook-engine.lock flock -o /tmp/podhook-podman.lock tools/bench.sh
# --quick: 2 rounds, the idle agent for 10 s, 30 pods present instead of 100 (a check of the script,
# not figures to quote).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
rounds=5 idle=60 pods=100 podman=1 out="$here/docs/benchmarks.md"
while [ $# -gt 0 ]; do
        case $1 in
        --rounds) rounds=${2:?--rounds N}; shift ;;
        --quick) rounds=2 idle=10 pods=30 ;;
        --no-podman) podman=0 ;;
        --out) out=${2:?--out FILE}; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
        esac
        shift
done

# What it compares against, from Debian.
need=()
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v os-collect-config >/dev/null || need+=(os-collect-config)
command -v valgrind >/dev/null || need+=(valgrind)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
        echo "bench.sh: installing ${need[*]}" >&2
        if [ "$(id -u)" = 0 ]; then
                DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2 ||
                        echo "bench.sh: could not install ${need[*]}: those references are left out" >&2
        else
                echo "bench.sh: not root: ${need[*]} left out" >&2
        fi
fi

# Its own release build: the developer's build directories stay as they are.
build=$here/build-bench
if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" "$here" --buildtype=release -Db_sanitize=none >&2
fi
ninja -C "$build" agent/podhook >&2

"$here/tools/build-images.sh" >&2
args=()
if [ "$podman" = 1 ] && [ -S /run/podman/podman.sock ] && command -v podman >/dev/null; then
        DOCKER_HOST=unix:///run/podman/podman.sock "$here/tools/build-images.sh" >&2
else
        args+=(--no-podman)
fi

exec python3 "$here/tools/bench/bench.py" --podhook "$build/agent/podhook" --rounds "$rounds" --idle "$idle" \
        --pods "$pods" --out "$out" "${args[@]}"
