#!/bin/bash
# Makes a fresh Debian 12 machine ready to build and run podhook: installs what is missing (build
# packages, docker.io, podman, busybox-static, Node.js and the npm package of the kubelet schema test,
# the Prometheus client's parser that reads the status API's /metrics in tests/api) and
# starts a Docker engine and Podman's Docker-compatible service when they do not answer.
# Idempotent; quiet when everything is already there. Needs root (apt-get, dockerd).
set -euo pipefail

PKGS=(meson ninja-build pkg-config gcc libc6-dev
      libcurl4-openssl-dev libjansson-dev libyaml-dev libmicrohttpd-dev libzmq3-dev libssl-dev libarchive-dev
      docker.io busybox-static curl python3 python3-yaml iproute2 netcat-openbsd procps jq docker-registry
      podman catatonit netavark aardvark-dns
      python3-prometheus-client python3-zmq openssl
      valgrind groff-base   # the memcheck test (tests/proof), the manual's check (groff -ww)
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
# The local dockerd is meant, whatever DOCKER_HOST says (it may name Podman's socket): asking that
# one instead would start a second dockerd beside a running one.
docker_local() { DOCKER_HOST=unix:///var/run/docker.sock "$DOCKER" "$@"; }
engine_answers() { docker_local version --format '{{.Server.APIVersion}}' > /dev/null 2>&1; }

# await WHAT LOG COMMAND...: until the command succeeds, for at most 60 s; then the log's tail and exit 1.
await() {
        local what=$1 log=$2 deadline=$((SECONDS + 60))
        shift 2
        until "$@"; do
                if [ $SECONDS -ge $deadline ]; then
                        echo "setup-host: $what did not answer within 60 s" >&2
                        tail -n 20 "$log" >&2
                        exit 1
                fi
                sleep 0.2
        done
}

if ! engine_answers; then
        echo "setup-host: no Docker engine answers; starting dockerd"
        # setsid: the engine must outlive this script and the test run's process group. cd /: it must not
        # keep the checkout it was started from as its working directory (a removed one breaks it).
        (cd / && exec setsid dockerd) > /var/log/podhook-dockerd.log 2>&1 < /dev/null &
        await dockerd /var/log/podhook-dockerd.log engine_answers
fi
echo "setup-host: Docker engine API $(docker_local version --format '{{.Server.APIVersion}}')"

# Podman's Docker-compatible API, rootful, for the integration suite's Podman run (docs/podman.md). Its
# settings for these machines are in tools/podman/ (why: the comments there); they are copied to
# /run/podhook-podman so that the service never reads from a checkout that goes away.
PODMAN_SOCK=/run/podman/podman.sock
podman_conf=/run/podhook-podman
podman_answers() { curl -fsS --max-time 5 --unix-socket "$PODMAN_SOCK" -o /dev/null http://podman/_ping 2>/dev/null; }
mkdir -p "$podman_conf" /run/podman
install -m 0644 "$(dirname "$0")/podman/containers.conf" "$(dirname "$0")/podman/registries.conf" "$podman_conf/"

if ! podman_answers; then
        # The rlimits pinned there must be within this machine's hard limits, or no container starts.
        nofile=$(grep -o 'nofile=[0-9]*:[0-9]*' "$podman_conf/containers.conf" | cut -d: -f2)
        nproc=$(grep -o 'nproc=[0-9]*:[0-9]*' "$podman_conf/containers.conf" | cut -d: -f2)
        pid_max=$(cat /proc/sys/kernel/pid_max)
        hard_nproc=$(ulimit -Hu)
        [ "$hard_nproc" = unlimited ] || [ "$hard_nproc" -gt "$pid_max" ] && hard_nproc=$pid_max
        hard_nofile=$(ulimit -Hn)
        if { [ "$hard_nofile" != unlimited ] && [ "$hard_nofile" -lt "$nofile" ]; } || [ "$hard_nproc" -lt "$nproc" ]; then
                echo "setup-host: tools/podman/containers.conf pins nofile=$nofile and nproc=$nproc, above what this" \
                        "machine allows (open files $hard_nofile, processes $hard_nproc): lower them there" >&2
                exit 1
        fi
        echo "setup-host: Podman's service does not answer; starting podman system service on $PODMAN_SOCK"
        # setsid, like dockerd: it must outlive this script. --time=0: no exit when idle. cd /: conmon, which
        # it starts for every container, fails ("Failed to get working directory") once the directory the
        # service was started from is removed (a test checkout).
        (cd / && CONTAINERS_CONF=$podman_conf/containers.conf CONTAINERS_REGISTRIES_CONF=$podman_conf/registries.conf \
                exec setsid podman system service --time=0 "unix://$PODMAN_SOCK") > /var/log/podhook-podman.log 2>&1 < /dev/null &
        await "podman system service" /var/log/podhook-podman.log podman_answers
fi
echo "setup-host: Podman $(curl -fsS --max-time 5 --unix-socket "$PODMAN_SOCK" http://podman/version |
        python3 -c 'import json, sys; v = json.load(sys.stdin); print(v["Version"], "API", v["ApiVersion"])')"
