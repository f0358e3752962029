#!/bin/bash
# Makes a fresh Debian 12 machine ready to build and run podhook: installs what is missing (build
# packages, docker.io, busybox-static, Node.js and the npm package of the kubelet schema test) and starts a
# Docker engine when none answers.
# Idempotent; quiet when everything is already there. Needs root (apt-get, dockerd).
set -euo pipefail

PKGS=(meson ninja-build pkg-config gcc libc6-dev
      libcurl4-openssl-dev libjansson-dev libyaml-dev libmicrohttpd-dev libzmq3-dev libssl-dev libarchive-dev
      docker.io busybox-static curl python3 python3-yaml iproute2 netcat-openbsd procps jq docker-registry
      libxml2-dev) # libxml2: only the oracle of the cfn-xml fuzz target (tests/fuzz)

missing=()
for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js runs the Kubernetes schema check (tests/kubelet); one from elsewhere (with its own npm) will do.
command -v node > /dev/null || missing+=(nodejs)
command -v npm > /dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
        echo "setup-host: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        # Keep package scripts from starting daemons (docker-registry would take :5000, Keystone's port in
        # the Heat lab); we start what we need ourselves.
        own_policy=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
                printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
                chmod +x /usr/sbin/policy-rc.d
                own_policy=1
        fi
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" > /tmp/podhook-apt.log 2>&1 || {
                tail -n 20 /tmp/podhook-apt.log >&2
                exit 1
        }
        if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
        # The pull tests start their own docker-registry on a port of theirs; the packaged service would
        # take :5000, Keystone's port in the Heat lab.
        if [[ " ${missing[*]} " == *" docker-registry "* ]] && command -v systemctl > /dev/null; then
                systemctl disable --now docker-registry > /dev/null 2>&1 || true
        fi
fi

# The kubernetes-models package that validates converted Pods (tests/kubelet/schema), at the locked
# version; again when the lock file changed.
schema_dir=$(cd "$(dirname "$0")/.." && pwd)/tests/kubelet/schema
if [ ! -f "$schema_dir/node_modules/.package-lock.json" ] ||
        [ "$schema_dir/package-lock.json" -nt "$schema_dir/node_modules/.package-lock.json" ]; then
        echo "setup-host: installing the kubelet schema test's npm packages"
        (cd "$schema_dir" && npm ci --no-audit --no-fund --loglevel=error > /tmp/podhook-npm.log 2>&1) || {
                tail -n 20 /tmp/podhook-npm.log >&2
                exit 1
        }
fi

# Debian's own client talks API 1.41 to Debian's engine; a newer client elsewhere on PATH is not needed.
DOCKER=/usr/bin/docker
engine_answers() { "$DOCKER" version --format '{{.Server.APIVersion}}' > /dev/null 2>&1; }

if ! engine_answers; then
        echo "setup-host: no Docker engine answers; starting dockerd"
        # setsid: the engine must outlive this script and the test run's process group.
        setsid dockerd > /var/log/podhook-dockerd.log 2>&1 < /dev/null &
        deadline=$((SECONDS + 60))
        until engine_answers; do
                if [ $SECONDS -ge $deadline ]; then
                        echo "setup-host: dockerd did not answer within 60 s" >&2
                        tail -n 20 /var/log/podhook-dockerd.log >&2
                        exit 1
                fi
                sleep 0.2
        done
fi
echo "setup-host: Docker engine API $("$DOCKER" version --format '{{.Server.APIVersion}}')"
