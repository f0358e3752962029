#!/bin/bash
# The main job on the bundled example, on a fresh Debian 12 machine: set-up, build, the local example
# images, then deploy manifests-examples/apache-redis.yaml as the pod "apache-redis", show its state and
# ask its apache for the page on host port 8080.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup-host.sh
if [ ! -d build-release ]; then
        meson setup build-release -Dtests=false --buildtype=release > /tmp/podhook-meson-release.log 2>&1 || {
                cat /tmp/podhook-meson-release.log >&2
                exit 1
        }
fi
ninja -C build-release > /tmp/podhook-ninja-release.log 2>&1 || { tail -n 40 /tmp/podhook-ninja-release.log >&2; exit 1; }
tools/build-images.sh

podhook=build-release/agent/podhook
$podhook validate manifests-examples/apache-redis.yaml
echo "== podhook apply (inspect output in /tmp/apache-redis.inspect.json)"
$podhook apply manifests-examples/apache-redis.yaml > /tmp/apache-redis.inspect.json
echo "== podhook ps apache-redis"
$podhook ps apache-redis
echo "== GET http://127.0.0.1:8080/"
deadline=$((SECONDS + 20))
until curl -fsS --max-time 2 http://127.0.0.1:8080/; do
        [ $SECONDS -lt $deadline ] || { echo "apache did not answer on :8080 within 20 s" >&2; exit 1; }
        sleep 0.2
done
echo "== remove it with: $podhook delete apache-redis   (add --purge to drop its volume too)"
