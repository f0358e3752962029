#!/bin/bash
# Issue 8 through the agent (run once on Docker and once on Podman), with drop-ins and no Heat:
#   the config key secrets: a file of mode 0644 is said at the start, a drop-in that needs a value of it
#   fails naming the file and its mode while one that needs none is applied; made 0600, the next rescan
#   applies the first (the file is read per run: no SIGHUP), the value reaches the container and
#   nothing the agent logs, notifies or keeps outside its 0600/0400 files; the config key
#   registry_config reaches the hook (a missing file is said at the start and fails a deployment);
#   SIGTERM while a drop-in waits for a dependency (wait_for, 300 s) ends the agent at once, and the
#   drop-in is neither failed nor applied.
#   agent-needs.sh PODHOOK SRC_DIR
set -uo pipefail
podhook=$1
src=$2
# shellcheck source=tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=engine.sh
. "$(dirname "$0")/engine.sh"
need_engine
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-needs.XXXXXX")
p=phneed-$$
daemon=
cleanup() {
        [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
        remove_pods "$p"
        rm -rf "$work"
}
trap cleanup EXIT
"$src/tools/build-images.sh" >"$work/images.log" 2>&1 || { cat "$work/images.log"; echo "Bail out! images"; exit 1; }

running() { [ -n "$(docker ps -q --filter "label=io.podhook.pod=$1")" ]; }
gone() { [ -z "$(docker ps -aq --filter "label=io.podhook.pod=$1")" ]; }
put() { cat >"$work/pods/.$1.new" && mv "$work/pods/.$1.new" "$work/pods/$1"; }
plain() {
        printf 'version: v1beta2\ncontainers:\n  - {name: one, image: podhook.local/busybox:1, command: [sleep, "3600"]}\n'
}
SECRET="Agent-$RANDOM$RANDOM-secret"
DEADPORT=$((18120 + ${PORT_SHIFT:-0}))

mkdir -m 700 "$work/pods"
printf '{"db_password": "%s"}\n' "$SECRET" >"$work/secrets.json"
chmod 644 "$work/secrets.json"
# The keys come from the config file, as an operator would set them (registry_config with '_').
cat >"$work/agent.conf" <<EOF
secrets = $work/secrets.json
EOF
start() {
        "$podhook" agent --state-dir "$work/state" --occ-config '' --config "$work/agent.conf" --bootstrap '' \
                --dropin "$work/pods" --dropin-debounce 0.2 --dropin-rescan 1 --grace-seconds 1 --log-level debug \
                --notify-exec "cat >> '$work/events.json'; echo >> '$work/events.json'" "$@" >>"$work/daemon.log" 2>&1 &
        daemon=$!
}
stop() {
        kill -TERM "$daemon"
        wait "$daemon"
        local rc=$?
        daemon=
        return $rc
}
start
check "the agent starts" wait_for 10 grep -q "watching the drop-in directory" "$work/daemon.log"
check "a secrets file of mode 0644 is said at the start" \
        grep -q "secrets file $work/secrets.json has mode 0644, must be 0600 or stricter" "$work/daemon.log"

plain | put "$p-plain.yaml"
cat <<EOF | put "$p-sec.yaml"
version: v1beta2
containers:
  - name: app
    image: podhook.local/busybox:1
    command: [sleep, "3600"]
    env:
      - {name: DB_CONN, valueFrom: {secretKeyRef: {key: db_password}}}
EOF
check "a drop-in that needs no secret is applied" wait_for 30 running "$p-plain"
check "one that needs a value of the refused file fails, naming the file and its mode" wait_for 30 \
        grep -q "drop-in $work/pods/$p-sec.yaml: pod $p-sec could not be applied .*: secrets file $work/secrets.json has mode 0644, must be 0600 or stricter" "$work/daemon.log"
check "and makes no pod" gone "$p-sec"

chmod 600 "$work/secrets.json"
check "made 0600, a rescan applies it (read per run, no SIGHUP)" wait_for 30 running "$p-sec"
# The pod counts as running once its infra runs: the app may start a moment later.
# The busybox image has env, not printenv.
secret_in_app() { docker exec "$p-sec.app" env 2>/dev/null | grep -qxF "DB_CONN=$SECRET"; }
check "the secret reaches the container" wait_for 30 secret_in_app
check "the agent's log has no secret" bash -c "! grep -qF '$SECRET' '$work/daemon.log'"
check "nor do its events" bash -c "! grep -qF '$SECRET' '$work/events.json'"
leaks=$(grep -rlF "$SECRET" "$work/state" 2>/dev/null | while read -r f; do
        mode=$(stat -c %a "$f")
        [ "$mode" = 400 ] || [ "$mode" = 600 ] || echo "$f ($mode)"
done)
check "nor its state directory outside 0600/0400 files ($leaks)" test -z "$leaks"

# wait_for a port nobody opens, for up to 300 s: SIGTERM ends the wait and the agent at once.
cat <<EOF | put "$p-wait.yaml"
options: {wait_for: ["tcp:127.0.0.1:$DEADPORT"], wait_interval: 1, wait_timeout: 300}
manifest:
$(plain | sed 's/^/  /')
EOF
check "a drop-in waits for its dependency" wait_for 30 grep -q "wait_for tcp:127.0.0.1:$DEADPORT: not ready yet" "$work/daemon.log"
t0=$SECONDS
stop
rc=$?
check "SIGTERM during the wait: exit 0 ($rc)" test "$rc" = 0
check "within 5 s ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -le 5
check "the waiting drop-in was neither failed nor applied" \
        bash -c "! grep -q 'drop-in $work/pods/$p-wait.yaml:' '$work/daemon.log' && ! docker ps -aq --filter label=io.podhook.pod=$p-wait | grep -q ."
rm "$work/pods/$p-wait.yaml"

# registry_config: a file named that is not there is said at the start and fails a deployment.
printf 'secrets = %s\nregistry_config = %s\n' "$work/secrets.json" "$work/missing.json" >"$work/agent.conf"
start
check "a registry_config that is missing is said at the start" wait_for 10 grep -q "$work/missing.json" "$work/daemon.log"
plain | sed 's/sleep, "3600"/sleep, "3601"/' | put "$p-plain.yaml"
check "and fails the docker hook's deployment, naming it" wait_for 30 \
        grep -q "drop-in $work/pods/$p-plain.yaml: pod $p-plain could not be applied .*$work/missing.json" "$work/daemon.log"
stop
tap_done
