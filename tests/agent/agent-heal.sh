#!/bin/bash
# Self-healing of a real agent (a drop-in pod; --reconcile-interval 3) on the real engine:
#   the infra container's pause process killed (Docker restarts the infra in a new network namespace)
#   while the agent is down: `podhook ps` says "broken: infra restarted", and the agent repairs it when
#   it starts; killed again under the running agent: the apps are recreated and the published port
#   serves again; an app container removed by hand (docker rm -f) is recreated; container_restarted and
#   pod_healed events; podhook_restarts_total counts; the volume is the same throughout.
# With HEAL_DOCKERD=1 (run it holding both engine locks: it stops the shared dockerd): dockerd stopped
# and started again under the running agent, which waits it out and converges: the port serves again.
#   agent-heal.sh PODHOOK SRC_DIR
set -uo pipefail
podhook=$1
src=$2
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=engine.sh
. "$(dirname "$0")/engine.sh"
need_engine
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-heal.XXXXXX")
p=phheal-$$
pod=$p-web
port=$((20000 + $$ % 20000))
daemon=
stop_daemon() {
        [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        daemon=
}
dockerd_answers() { DOCKER_HOST=unix:///var/run/docker.sock docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }
start_dockerd() {
        dockerd_answers && return 0
        (cd / && exec setsid dockerd) >>/var/log/podhook-dockerd.log 2>&1 </dev/null &
        wait_for 60 dockerd_answers
}
cleanup() {
        stop_daemon
        [ "${HEAL_DOCKERD:-0}" = 1 ] && start_dockerd
        remove_pods "$p" volumes
        rm -rf "$work"
}
trap cleanup EXIT
"$src/tools/build-images.sh" >"$work/images.log" 2>&1 || { cat "$work/images.log"; echo "Bail out! images"; exit 1; }

cid() { docker inspect -f '{{.Id}}' "$1" 2>/dev/null; }
serves() { curl -s --max-time 2 "http://127.0.0.1:$port/" | grep -q "$p"; }
events() {
        python3 -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    if l.strip():
        e = json.loads(l)
        n += e["kind"] == sys.argv[2] and e.get("pod") == sys.argv[3]
print(n)' "$work/events.json" "$1" "$2" 2>/dev/null || echo 0
}
events_of() { events "$@"; }
export -f events events_of
export work
mkdir -m 700 "$work/pods"
cat >"$work/pods/$pod.yaml" <<EOF
version: v1beta2
volumes:
  - name: www
containers:
  - name: web
    image: podhook.local/apache:1
    ports: [{containerPort: 80, hostPort: $port, hostIP: 127.0.0.1}]
    command: [sh, -c, 'echo $p > /var/www/index.html; exec /run-apache.sh']
    volumeMounts: [{name: www, mountPath: /data}]
  - name: side
    image: podhook.local/busybox:1
    command: [sleep, '3600']
EOF
start() {
        local before
        before=$(grep -c "status API listening on" "$work/daemon.log" 2>/dev/null)
        "$podhook" agent --state-dir "$work/state" --occ-config '' --config '' --bootstrap '' \
                --dropin "$work/pods" --dropin-debounce 0.2 --reconcile-interval 3 --grace-seconds 1 \
                --liveness-period 1 --liveness-failures 2 \
                --api 127.0.0.1:0 --log-level debug \
                --notify-exec "cat >> '$work/events.json'; echo >> '$work/events.json'" >>"$work/daemon.log" 2>&1 &
        daemon=$!
        wait_for 10 bash -c "[ \$(grep -c 'status API listening on' '$work/daemon.log') -gt ${before:-0} ]" || return 1
        u=http://$(sed -n 's/.*status API listening on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/daemon.log" | tail -1)
}
start
check "the pod serves on its port" wait_for 60 serves
check "its last apply is kept 0600" wait_for 20 bash -c "[ \"\$(stat -c %a '$work/state/heal/$pod.json' 2>/dev/null)\" = 600 ]"
vol=$(docker volume ls -q --filter "label=io.podhook.pod=$pod")

# --- the infra's pause killed while the agent is down ---
stop_daemon
web=$(cid "$pod.web")
started=$(docker inspect -f '{{.State.StartedAt}}' "$pod._infra")
kill -9 "$(docker inspect -f '{{.State.Pid}}' "$pod._infra")"
check "Docker restarts the infra" wait_for 20 bash -c \
        "[ \"\$(docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' $pod._infra)\" != 'true $started' ] &&
         [ \"\$(docker inspect -f '{{.State.Running}}' $pod._infra)\" = true ]"
check "the port does not serve: the apps are in the old namespace" bash -c "! curl -s --max-time 2 http://127.0.0.1:$port/ | grep -q $p"
"$podhook" ps "$pod" >"$work/ps.out" 2>&1
check "podhook ps says broken: infra restarted" grep -q "broken: infra restarted" "$work/ps.out"
sed 's/^/# /' "$work/ps.out"
start
check "the agent repairs it when it starts: the port serves again" wait_for 30 serves
check "  the app web was recreated" test "$(cid "$pod.web")" != "$web"
check "  a pod_healed event" wait_for 10 bash -c "[ \"\$(events pod_healed '$pod')\" -ge 1 ]"
check "  podhook ps no longer says broken" bash -c "! '$podhook' ps '$pod' | grep -q broken"

# --- killed again under the running agent ---
web=$(cid "$pod.web")
healed=$(events pod_healed "$pod")
kill -9 "$(docker inspect -f '{{.State.Pid}}' "$pod._infra")"
t0=$SECONDS
check "under the running agent: healed (events or the 3 s reconcile)" wait_for 30 bash -c \
        "[ \"\$(docker inspect -f '{{.Id}}' $pod.web 2>/dev/null)\" != '$web' ] && curl -s --max-time 2 http://127.0.0.1:$port/ | grep -q $p"
echo "# healed after $((SECONDS - t0)) s"
# The repair ends after the new containers' start window: wait for its event before the next change.
check "  a second pod_healed event" wait_for 20 bash -c "[ \"\$(events pod_healed '$pod')\" -gt $healed ]"
check "  container_restarted events for web and side" test "$(events container_restarted "$pod")" -ge 4
check "GET /v1/pods/$pod: not broken, web running" wait_for 10 bash -c \
        "curl -s '$u/v1/pods/$pod' | jq -e '.broken == null and ([.containers[] | select(.container == \"web\" and .state == \"running\")] | length == 1)' >/dev/null"

# --- an app container removed by hand ---
side=$(cid "$pod.side")
docker rm -f "$pod.side" >/dev/null
check "a container removed by hand is recreated" wait_for 30 bash -c \
        "c=\$(docker inspect -f '{{.Id}} {{.State.Running}}' $pod.side 2>/dev/null) && [ \"\${c% *}\" != '$side' ] && [ \"\${c#* }\" = true ]"
check "  and the pod still serves" wait_for 20 serves
check "  a third pod_healed event" wait_for 20 bash -c "[ \"\$(events pod_healed '$pod')\" -gt $((healed + 1)) ]"
check "podhook_restarts_total counts the agent's restarts" bash -c \
        "curl -s '$u/metrics' | awk '\$1 == \"podhook_restarts_total\" { exit !(\$2 >= 5) }'"
check "the volume is the same" test "$(docker volume ls -q --filter "label=io.podhook.pod=$pod")" = "$vol"

# --- a failing livenessProbe after the deploy restarts its container ---
cat >"$work/pods/$p-live.yaml" <<'EOF'
version: v1beta2
containers:
  - name: app
    image: podhook.local/busybox:1
    command: [sh, -c, 'touch /tmp/alive; exec sleep 3600']
    livenessProbe:
      exec:
        command: [test, -f, /tmp/alive]
EOF
check "a pod with a livenessProbe runs" wait_for 60 bash -c \
        "[ \"\$(curl -s '$u/v1/pods/$p-live' | jq -r .last_apply.status_code)\" = 0 ]"
live_started=$(docker inspect -f '{{.State.StartedAt}}' "$p-live.app")
docker exec "$p-live.app" rm /tmp/alive
check "its probe fails after the deploy: the container is restarted" wait_for 20 bash -c \
        "[ \"\$(docker inspect -f '{{.State.StartedAt}}' $p-live.app)\" != '$live_started' ]"
check "  a probe_failed event" wait_for 5 bash -c "[ \"\$(cd '$work' && events_of probe_failed '$p-live')\" -ge 1 ]"
check "  a container_restarted event" test "$(events container_restarted "$p-live")" -ge 1
check "  podhook_probe_failures_total counts both failures" bash -c \
        "curl -s '$u/metrics' | awk '\$1 == \"podhook_probe_failures_total\" { exit !(\$2 >= 2) }'"

# --- dockerd stopped and started under the running agent ---
if [ "${HEAL_DOCKERD:-0}" = 1 ]; then
        dpid=$(pgrep -x dockerd | head -1)
        kill -TERM "$dpid"
        check "dockerd stopped" wait_for 60 bash -c "! kill -0 $dpid 2>/dev/null"
        check "the agent waits it out" wait_for 10 grep -q "engine events: .*trying again" "$work/daemon.log"
        check "dockerd started again" start_dockerd
        check "the agent converges: the port serves again" wait_for 60 serves
        check "  every container of the pod runs" bash -c \
                "[ \$(docker ps -q --filter label=io.podhook.pod=$pod | wc -l) = 3 ]"
        check "  the agent said the Engine answers again" grep -q "engine events: the Engine answers again" "$work/daemon.log"
fi

stop_daemon
check "the agent logged no error" test -z "$(grep -e '^error' "$work/daemon.log")"
grep -e '^warning' -e '^error' "$work/daemon.log" | sed 's/^/# /' | head -20
tap_done
