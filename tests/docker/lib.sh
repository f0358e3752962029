# Shared helpers of the pod integration tests (bash). Each test script sets PREFIX (its pods are named
# $PREFIX-...) before sourcing this file, and gets: $PODHOOK, $D (the docker client, on the engine
# DOCKER_HOST names), $ENGINE and $PORT_SHIFT, cleanup by label in an EXIT trap, wait_for, and
# check/fail that count and report.
set -uo pipefail

PODHOOK=${1:?usage: $0 PODHOOK-EXECUTABLE SOURCE-ROOT}
SRCROOT=${2:?usage: $0 PODHOOK-EXECUTABLE SOURCE-ROOT}
: "${PREFIX:?set PREFIX before sourcing lib.sh}"
# Debian's 20.10 client matches the engine; /usr/local/bin may hold a newer one.
for tool in jq curl; do command -v $tool >/dev/null || { echo "FAIL: $tool is needed" >&2; exit 1; }; done
D=/usr/bin/docker
[ -x "$D" ] || D=$(command -v docker || echo docker)
TMP=$(mktemp -d)
# podhook's node key, update journals and pod locks: the test's own, not the machine's.
export PODHOOK_STATE_DIR=$TMP/state PODHOOK_RUN_DIR=$TMP/run
FAILED=0
CHECKS=0

if ! "$D" version >/dev/null 2>&1; then
        if [ "${PODHOOK_REQUIRE_ALL:-0}" = 1 ]; then
                echo "FAIL: no Docker Engine answers (PODHOOK_REQUIRE_ALL=1)" >&2
                exit 1
        fi
        echo "SKIP: no Docker Engine answers" >&2
        exit 77
fi

# The engine behind DOCKER_HOST: "docker" or "podman" (Podman's service names itself among the
# version's components). The suite runs once for each (tests/docker/meson.build).
ENGINE=docker
"$D" version --format '{{range .Server.Components}}{{.Name}};{{end}}' 2>/dev/null | grep -q 'Podman Engine' &&
        ENGINE=podman
# Host ports of the Podman run are the Docker run's plus this, so both can run at once (each under its
# engine's lock); tools/podman/registries.conf knows the shifted registry port of pod-pull.sh.
PORT_SHIFT=0
[ "$ENGINE" = podman ] && PORT_SHIFT=1000
echo "# engine: $ENGINE (DOCKER_HOST=${DOCKER_HOST:-})"

# Everything of this script's pods, found by label (never by name): containers, then volumes.
# Apps go before infra containers: Podman refuses to remove a container whose network others joined.
cleanup() {
        local ids role
        for role in app infra; do
                ids=$("$D" ps -a --filter label=io.podhook.managed=1 --filter label=io.podhook.role=$role \
                        --format '{{.ID}} {{.Label "io.podhook.pod"}}' | awk -v p="$PREFIX-" 'index($2, p) == 1 { print $1 }')
                [ -n "$ids" ] && "$D" rm -f $ids >/dev/null 2>&1
        done
        ids=$("$D" volume ls --filter label=io.podhook.managed=1 --format '{{.Name}} {{.Label "io.podhook.pod"}}' |
                awk -v p="$PREFIX-" 'index($2, p) == 1 { print $1 }')
        [ -n "$ids" ] && "$D" volume rm -f $ids >/dev/null 2>&1
        ids=$("$D" ps -aq --filter label=io.podhook.test-prefix="$PREFIX")
        [ -n "$ids" ] && "$D" rm -f $ids >/dev/null 2>&1
        return 0
}
finish() {
        local rc=$?
        cleanup
        rm -rf "$TMP"
        if [ "$FAILED" -ne 0 ]; then
                echo "$FAILED of $CHECKS checks failed" >&2
                exit 1
        fi
        echo "$CHECKS checks passed"
        exit "$rc"
}
trap finish EXIT
cleanup

"$SRCROOT/tools/build-images.sh" || { echo "FAIL: tools/build-images.sh" >&2; exit 1; }

fail() {
        FAILED=$((FAILED + 1))
        echo "FAIL: $*" >&2
}
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
        local what=$1
        shift
        CHECKS=$((CHECKS + 1))
        if "$@"; then
                echo "ok - $what"
        else
                fail "$what"
        fi
}
# check_eq DESCRIPTION GOT WANT
check_eq() {
        CHECKS=$((CHECKS + 1))
        if [ "$2" = "$3" ]; then
                echo "ok - $1"
        else
                fail "$1: got '$2', want '$3'"
        fi
}
# wait_for SECONDS COMMAND...: runs the command until it succeeds or the deadline passes.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        while ! "$@" >/dev/null 2>&1; do
                [ "$SECONDS" -ge "$deadline" ] && return 1
                sleep 0.1
        done
        return 0
}

# pod_events SINCE UNTIL POD: "Type Action name" of every Engine event of the pod's objects between two
# times (date +%s.%N). Podman (4.3) answers nothing at all on its Docker-compatible /events when given
# an until: there its own /libpod/events is read (stream=false ends the list), with Podman's action
# names (died, remove, init, cleanup: docs/podman.md).
pod_events() {
        if [ "$ENGINE" = podman ]; then
                curl -fsS --max-time 30 --unix-socket "${DOCKER_HOST#unix://}" \
                        "http://d/v1.41/libpod/events?stream=false&since=${1%.*}" |
                        jq -r --arg pod "$3" --argjson t0 "$1" --argjson t1 "$2" \
                                'select(.Actor.Attributes["io.podhook.pod"] == $pod and .timeNano / 1e9 >= $t0 and
                                        .timeNano / 1e9 <= $t1) | "\(.Type) \(.Action) \(.Actor.Attributes.name)"'
        else
                "$D" events --since "$1" --until "$2" --filter "label=io.podhook.pod=$3" \
                        --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
        fi
}

# web_container PAGE PORT [TAIL]: the YAML of a container "web" that serves page-PAGE at / on 127.0.0.1:PORT
# (its port named http), its env PAGE=PAGE; TAIL is the rest of its command line after the page is
# written (default: exec httpd on port 80). Callers add volumeMounts and the like.
web_container() {
        cat <<YAML
  - name: web
    image: podhook.local/busybox:1
    command: ["/bin/sh", "-c", "mkdir -p /tmp/www && echo page-\$PAGE > /tmp/www/index.html && ${3:-exec httpd -f -p 80 -h /tmp/www}"]
    env: [{name: PAGE, value: "$1"}]
    ports: [{name: http, containerPort: 80, hostPort: $2, hostIP: 127.0.0.1}]
YAML
}

# IDs of a pod's containers (sorted), found by label.
pod_ids() {
        "$D" ps -aq --no-trunc --filter label=io.podhook.managed=1 --filter "label=io.podhook.pod=$1" | sort
}
pod_count() {
        pod_ids "$1" | grep -c . || true
}
# state of container NAME
state_of() {
        "$D" inspect -f '{{.State.Status}}' "$1" 2>/dev/null
}
http_get() {
        curl -fsS --max-time 2 -o /dev/null "$@"
}
# TCP "+PONG" check with bash's /dev/tcp: read one line from HOST PORT.
tcp_line() {
        local line
        exec 7<>"/dev/tcp/$1/$2" || return 1
        IFS= read -r -t 2 line <&7
        exec 7<&-
        printf '%s\n' "${line%$'\r'}"
}
# jq_true FILTER FILE: the filter yields something other than false/null.
jq_true() {
        jq -e "$@" >/dev/null
}
# all_gone ID...: none of the containers exists any more.
all_gone() {
        [ $# -gt 0 ] || return 1
        local id
        for id in "$@"; do
                "$D" inspect "$id" >/dev/null 2>&1 && return 1
        done
        return 0
}

# registry_start DIR ADDR: a docker-registry (Debian's) serving ADDR (127.0.0.1:PORT, which Docker takes
# as insecure; Podman's run uses a port tools/podman/registries.conf lists) from DIR/registry; it is
# answering on return. Skips the test (77) when docker-registry is not installed. registry_stop ends it.
registry_start() {
        local registry
        registry=$(command -v docker-registry || true)
        if [ -z "$registry" ]; then
                if [ "${PODHOOK_REQUIRE_ALL:-0}" = 1 ]; then
                        fail "docker-registry is not installed (apt-get install docker-registry)"
                        return 1
                fi
                echo "SKIP: docker-registry is not installed" >&2
                return 77
        fi
        cat >"$1/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $1/registry}, delete: {enabled: true}}
http: {addr: $2}
YAML
        "$registry" serve "$1/registry.yml" >"$1/registry.log" 2>&1 &
        REGISTRY_PID=$!
        check "the registry answers" wait_for 20 curl -fsS -o /dev/null "http://$2/v2/"
}
registry_stop() {
        [ -n "${REGISTRY_PID:-}" ] && kill "$REGISTRY_PID" 2>/dev/null && wait "$REGISTRY_PID" 2>/dev/null
        return 0
}
