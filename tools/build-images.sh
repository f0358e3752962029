#!/bin/bash
# Builds the local test images FROM scratch with Debian's busybox-static: no registry is involved.
#   podhook.local/busybox:1  CMD ["/bin/sh"]
#   podhook.local/apache:1   /run-apache.sh: busybox httpd on port 80, /var/www/index.html
#   podhook.local/redis:1    /run-redis.sh: "+PONG" to every connection on port 6379
# Every image is labelled io.podhook.test=1. Images already present are left alone (quick when all are);
# --force rebuilds them. They go to the engine DOCKER_HOST names (the local dockerd by default): Podman
# keeps images in a store of its own, so the integration tests' Podman run calls this with DOCKER_HOST
# on Podman's socket (the docker CLI's import works against Podman's Docker-compatible API).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}
# Debian's 20.10 client matches the engine; a newer client in /usr/local/bin may be first in PATH.
docker=/usr/bin/docker
[ -x "$docker" ] || docker=$(command -v docker) || { echo "build-images.sh: no docker client found" >&2; exit 1; }
force=0
[ "${1:-}" = "--force" ] && force=1

# The images hold nothing but busybox: it must not need a dynamic loader (readelf comes with gcc).
if [ ! -x "$busybox" ] || LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -q 'program interpreter'; then
        echo "build-images.sh: $busybox is not a static busybox (apt-get install busybox-static)" >&2
        exit 1
fi

present() {
        [ "$force" = 0 ] && "$docker" image inspect "$1" >/dev/null 2>&1
}

# Suites running side by side may call this at once: one builder at a time.
exec 9>"${TMPDIR:-/tmp}/podhook-build-images.lock"
flock 9

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One shared root file system: busybox and its applets, plus the files every image carries.
make_rootfs() {
        local root=$work/rootfs
        mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/var/www" "$root/root"
        chmod 1777 "$root/tmp"
        cp "$busybox" "$root/bin/busybox"
        local applet
        for applet in $("$busybox" --list); do
                [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
        done
        printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
        printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
        install -m 0755 "$here/images/run-apache.sh" "$here/images/run-redis.sh" "$here/images/pong.sh" "$root/"
        install -m 0644 "$here/images/index.html" "$root/var/www/index.html"
        tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$work/rootfs.tar" .
}

build() {
        local name=$1 cmd=$2
        if present "$name"; then
                return 0
        fi
        [ -f "$work/rootfs.tar" ] || make_rootfs
        "$docker" import \
                --change "CMD $cmd" \
                --change 'ENV PATH=/bin' \
                --change 'LABEL io.podhook.test=1' \
                "$work/rootfs.tar" "$name" >/dev/null
        echo "built $name"
}

build podhook.local/busybox:1 '["/bin/sh"]'
build podhook.local/apache:1 '["/run-apache.sh"]'
build podhook.local/redis:1 '["/run-redis.sh"]'
# A rebuild leaves the previous images untagged: drop those of ours.
if [ "$force" = 1 ]; then
        "$docker" image prune -f --filter label=io.podhook.test=1 >/dev/null
fi
