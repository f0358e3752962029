#!/bin/bash
# End-to-end against the real Heat lab (../shared/heat): stacks from heat-templates/, `podhook agent`
# as the node, pods on the real Docker Engine.
#   e2e.sh CASE PODHOOK LAB_DIR SRC_DIR
# CASE: heat (POLL_SERVER_HEAT + HEAT_SIGNAL: create, update, invalid update, delete),
#       cfn  (POLL_SERVER_CFN + CFN_SIGNAL: create, update, delete),
#       crash (SIGKILL in the middle of a deployment, restart, the deployment finishes and is signalled),
#       crash-docker (the same for a docker deployment: SIGKILL while an update waits out a stop grace period),
#       zaqar (ZAQAR_MESSAGE + ZAQAR_SIGNAL on the lab's Zaqar: create, update, invalid update, delete),
#       tempurl (POLL_TEMP_URL + TEMP_URL_SIGNAL on the lab's Swift: create, update, invalid update, delete),
#       zaqar-crash (the agent killed between claiming the metadata and deleting it, at both fault points:
#                    the messages are taken again and each action runs once),
#       kubelet (a group kubelet deployment: a static pod in a manifest directory that tests/kubelet/
#                fake-kubelet.py reads and answers /pods for; CREATE_COMPLETE once it says Running,
#                the file goes with the stack).
# The zaqar and tempurl cases need the lab's Swift and Zaqar (SWIFT=1 ZAQAR=1 setup.sh, run here if down).
# Exit 77 when the lab or Docker cannot run here (a failure under PODHOOK_REQUIRE_ALL).
set -uo pipefail

case_name=$1
podhook=$(realpath "$2")
lab=$3
src=$(realpath "$4")
tmpl=$src/heat-templates/deployed-server-pod.yaml
work=$(mktemp -d "${TMPDIR:-/tmp}/phe2e-$case_name.XXXXXX")
chmod 700 "$work"
stacks=()
agents=()
pods=()
failed=0

log() { echo "# $(date -u +%T) $*"; }
skip() {
        if [ -n "${PODHOOK_REQUIRE_ALL:-}" ]; then
                echo "FAIL (PODHOOK_REQUIRE_ALL is set): $*"
                exit 1
        fi
        echo "SKIP: $*"
        exit 77
}
fail() {
        echo "FAIL: $*"
        failed=1
        exit 1
}
check() { # check DESCRIPTION COMMAND...
        if "${@:2}"; then
                echo "ok - $1"
        else
                fail "$1"
        fi
}

# ---------------------------------------------------------------- lab, docker, images
case $case_name in zaqar | zaqar-crash | tempurl) with_swift=1 ;; *) with_swift=0 ;; esac
lab_up() {
        curl -s -o /dev/null --max-time 5 http://127.0.0.1:5000/v3 &&
                curl -s -o /dev/null --max-time 5 http://127.0.0.1:8004/ &&
                curl -s -o /dev/null --max-time 5 http://127.0.0.1:8000/ &&
                curl -s -o /dev/null --max-time 5 http://127.0.0.1:8774/ &&
                [ -r /etc/heatlab-demorc ] || return 1
        # Swift's proxy and Zaqar (its forwarder) of NOTES-swift.md
        [ "$with_swift" = 0 ] || {
                curl -s -o /dev/null --max-time 5 http://127.0.0.1:8090/info &&
                        curl -s -o /dev/null --max-time 5 http://127.0.0.1:8888/
        }
}
# run_closed CMD...: CMD without the descriptors beyond 0-2 this script inherited. The daemons setup.sh
# starts would otherwise keep the engine lock of `flock LOCK meson test ...` for as long as they run.
run_closed() {
        (
                for fd in /proc/"$BASHPID"/fd/*; do
                        fd=${fd##*/}
                        [ "$fd" -gt 2 ] && eval "exec $fd>&-"
                done
                exec "$@"
        )
}
docker version >/dev/null 2>&1 || skip "no Docker Engine"
if ! lab_up; then
        [ -x "$lab/setup.sh" ] || skip "no Heat lab at $lab"
        log "Heat lab is down: running SWIFT=1 ZAQAR=1 $lab/setup.sh"
        if ! run_closed env SWIFT=1 ZAQAR=1 "$lab/setup.sh" >"$work/setup.log" 2>&1 || ! lab_up; then
                tail -20 "$work/setup.log"
                skip "the Heat lab could not be started"
        fi
fi
# shellcheck disable=SC1091
. /etc/heatlab-demorc
command -v openstack >/dev/null || skip "no openstack client"
"$src/tools/build-images.sh" >"$work/images.log" 2>&1 || { cat "$work/images.log"; fail "tools/build-images.sh"; }

# ---------------------------------------------------------------- helpers
stack_status() { openstack stack show "$1" -f value -c stack_status 2>/dev/null || echo GONE; }

# wait_status STACK SECONDS WANTED... : waits until the stack reaches one of WANTED or a *_FAILED state.
wait_status() {
        local stack=$1 deadline=$((SECONDS + $2)) s
        shift 2
        while :; do
                s=$(stack_status "$stack")
                for w in "$@"; do [ "$s" = "$w" ] && { echo "$s"; return 0; }; done
                case $s in *_FAILED) echo "$s"; return 1 ;; esac
                [ $SECONDS -ge $deadline ] && { echo "$s (timed out)"; return 1; }
                sleep 1
        done
}

# output STACK NAME: the output's value (JSON text for maps, the string itself for strings)
output() {
        openstack stack output show "$1" "$2" -f json 2>/dev/null |
                python3 -c 'import json,sys; v=json.load(sys.stdin)["output_value"]; print(v if isinstance(v, str) else json.dumps(v))'
}

# bootstrap STACK FILE: waits for the server's os_collect_config (Heat fills it in while the deployment waits).
bootstrap() {
        local deadline=$((SECONDS + 120)) v
        while [ $SECONDS -lt $deadline ]; do
                v=$(output "$1" os_collect_config)
                # Until the server resource is created the output is null or {}.
                if grep -q '"collectors"' <<<"$v"; then
                        (umask 077 && printf '%s\n' "$v" >"$2")
                        return 0
                fi
                sleep 1
        done
        return 1
}

# start_agent NAME BOOT STATE: the agent in the background; its pid in $agent_pid.
start_agent() {
        "$podhook" agent --bootstrap "$2" --state-dir "$3" --interval 2 --retry-max 4 --occ-config '' \
                --config '' --log-level debug >>"$work/$1.log" 2>&1 &
        agent_pid=$!
        agents+=("$agent_pid")
}

# stop_agent PID: SIGTERM, and SIGKILL if it has not stopped within 30 s.
stop_agent() {
        local deadline=$((SECONDS + 30))
        kill "$1" 2>/dev/null || return 0
        while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        kill -9 "$1" 2>/dev/null
        wait "$1" 2>/dev/null
}

# pod_ids POD: ids of the pod's running app containers (not its infra container), sorted.
pod_ids() {
        local ids
        ids=$(docker ps -q --no-trunc --filter "label=io.podhook.pod=$1")
        [ -z "$ids" ] && return 0
        # shellcheck disable=SC2086
        docker inspect $ids | python3 -c 'import json,sys; print("\n".join(sorted(c["Id"] for c in json.load(sys.stdin) if c["Config"]["Labels"].get("io.podhook.role")!="infra")))'
}
pod_all() { docker ps -aq --filter "label=io.podhook.pod=$1"; }

# serves PORT: the pod's apache answers (it may need a moment after the signal).
serves() {
        local deadline=$((SECONDS + 30))
        while [ $SECONDS -lt $deadline ]; do
                curl -sf --max-time 3 "http://127.0.0.1:$1/" | grep -q "podhook apache example" && return 0
                sleep 0.5
        done
        return 1
}

# inspect_ids TEXT: the container ids in a deploy_stdout (a JSON array of docker inspect objects).
inspect_ids() {
        python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("\n".join(sorted(c["Id"] for c in d if c.get("Config",{}).get("Labels",{}).get("io.podhook.role")!="infra")))' "$1"
}
inspect_running() {
        python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d and all(c["State"]["Running"] for c in d) else 1)' "$1"
}

# infra_id POD: the id of the pod's infra container.
infra_id() {
        docker ps -aq --no-trunc --filter "label=io.podhook.pod=$1" --filter "label=io.podhook.role=infra"
}

# redeployed STACK PORT IDS_BEFORE INFRA_BEFORE: after an update to MESSAGE=v2, deploy_stdout shows new
# containers that are the running ones with the new spec, the unchanged infra container kept its id,
# and the pod serves. Sets ids_now.
redeployed() {
        local out
        out=$(output "$1" deploy_stdout)
        ids_now=$(inspect_ids "$out") || fail "deploy_stdout after the update: ${out:0:300}"
        check "update re-deployed: new container ids" test -n "$ids_now" -a "$ids_now" != "$3"
        check "the unchanged infra container kept its id" test -n "$4" -a "$(infra_id "$1")" = "$4"
        check "the new containers are the running ones" [ "$ids_now" = "$(pod_ids "$1")" ]
        check "with the new spec in the inspect output" grep -q 'MESSAGE=v2' <<<"$out"
        check "the pod serves after the update" serves "$2"
}

free_port() { # a port of this suite's range (18500-18999) nobody listens on
        local p
        for p in $(shuf -i "$1-$2"); do
                ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
        done
        return 1
}

# no_secret FILE BOOT: no password or secret key of the bootstrap appears in FILE.
no_secret() {
        python3 - "$1" "$2" <<'PY'
import json, sys
text = open(sys.argv[1], errors="replace").read()
boot = json.load(open(sys.argv[2]))
secrets = [v for sec in boot.values() if isinstance(sec, dict) for k, v in sec.items()
           if k in ("password", "secret_access_key") and v]
# a Swift temp URL (POLL_TEMP_URL): its signature
secrets += [v.split("temp_url_sig=")[1].split("&")[0] for sec in boot.values() if isinstance(sec, dict)
            for k, v in sec.items() if k == "metadata_url" and "temp_url_sig=" in v]
sys.exit(1 if any(s in text for s in secrets) or not secrets else 0)
PY
}

zq() { /usr/bin/python3 "$src/tests/e2e/zaqar-queue.py" "$@"; }
has_action() { zq "$1" actions 2>/dev/null | grep -qx "$2"; } # has_action BOOT ACTION: a queued message for it

# queue_drained BOOT SECONDS: the server's Zaqar queue is empty (the agent deleted what it claimed).
queue_drained() {
        local deadline=$((SECONDS + $2))
        while [ "$(zq "$1" count 2>/dev/null)" != 0 ]; do
                [ $SECONDS -ge $deadline ] && return 1
                sleep 1
        done
}

# wait_exit PID SECONDS: the process ended within SECONDS; its exit status in $exit_rc.
wait_exit() {
        local deadline=$((SECONDS + $2))
        while kill -0 "$1" 2>/dev/null; do
                [ $SECONDS -ge $deadline ] && return 1
                sleep 0.2
        done
        wait "$1"
        exit_rc=$?
}

cleanup() {
        local rc=$?
        for a in "${agents[@]}"; do stop_agent "$a"; done
        for f in "$work"/started.*; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
        for s in "${stacks[@]}"; do
                [ "$(stack_status "$s")" = GONE ] && continue
                # DELETE actions wait for the node: an agent answers them; if it cannot, tell the Nova
                # stub the server is gone so Heat stops waiting.
                local boot=$work/$s.boot.json
                local pid=
                if [ -s "$boot" ]; then
                        "$podhook" agent --bootstrap "$boot" --state-dir "$work/$s.state" --interval 2 \
                                --occ-config '' --config '' >>"$work/$s.cleanup.log" 2>&1 &
                        pid=$!
                fi
                openstack stack delete -y "$s" >/dev/null 2>&1
                if ! wait_status "$s" 120 GONE >/dev/null; then
                        local sid
                        sid=$(openstack stack resource show "$s" server -f value -c physical_resource_id 2>/dev/null)
                        [ -n "$sid" ] && echo "$sid" >>/var/lib/heatlab/nova_stub_gone
                        openstack stack delete -y "$s" >/dev/null 2>&1
                        wait_status "$s" 120 GONE >/dev/null || echo "# could not delete stack $s"
                fi
                [ -n "$pid" ] && stop_agent "$pid"
        done
        for p in "${pods[@]}"; do
                pod_all "$p" | xargs -r docker rm -f >/dev/null 2>&1
                docker volume ls -q --filter "label=io.podhook.pod=$p" | xargs -r docker volume rm >/dev/null 2>&1
        done
        if [ $rc -ne 0 ] || [ $failed -ne 0 ]; then
                for f in "$work"/*.log; do
                        echo "---- $(basename "$f") (last 40 lines)"
                        tail -40 "$f"
                done
        fi
        rm -rf "$work"
        exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------- cases
# pod_lifecycle CONFIG_TRANSPORT SIGNAL_TRANSPORT PORT_LO PORT_HI WITH_INVALID
pod_lifecycle() {
        local name=phe2e-$case_name-$$ port s
        port=$(free_port "$3" "$4") || fail "no free port in $3-$4"
        stacks+=("$name")
        pods+=("$name")
        local boot=$work/$name.boot.json state=$work/$name.state

        log "create $name ($1 + $2), pod on port $port"
        openstack stack create -t "$tmpl" --parameter config_transport="$1" --parameter signal_transport="$2" \
                --parameter pod_name="$name" --parameter server_name="$name-node" --parameter host_port="$port" \
                --parameter message=v1 --parameter grace_period=2 "$name" >/dev/null || fail "stack create"
        bootstrap "$name" "$boot" || fail "no os_collect_config output"
        local collector
        case $1 in POLL_SERVER_HEAT) collector=heat ;; POLL_SERVER_CFN) collector=cfn ;;
                POLL_TEMP_URL) collector=request ;; ZAQAR_MESSAGE) collector=zaqar ;; esac
        check "the node is told to poll the $collector collector" grep -q "\"collectors\": \[\"$collector\"" "$boot"
        start_agent "$name" "$boot" "$state"
        s=$(wait_status "$name" 300 CREATE_COMPLETE)
        check "create: $s" [ "$s" = CREATE_COMPLETE ]
        check "the pod serves on port $port" serves "$port"
        local out1 ids1
        out1=$(output "$name" deploy_stdout)
        ids1=$(inspect_ids "$out1") || fail "deploy_stdout is not docker inspect output: ${out1:0:300}"
        check "deploy_stdout holds the inspect of the running pod" inspect_running "$out1"
        check "deploy_stdout names the pod's containers" grep -q "\"/$name.web\"" <<<"$out1"
        check "the inspected containers are the running ones" [ "$ids1" = "$(pod_ids "$name")" ]
        check "deploy_status_code 0" [ "$(output "$name" deploy_status_code)" = 0 ]
        local infra1
        infra1=$(infra_id "$name")
        if [ "$1" = ZAQAR_MESSAGE ]; then
                check "the server's queue is drained: what the agent claimed it deleted" queue_drained "$boot" 30
                check "the metadata taken from the queue is kept in the state dir" test -s "$state/zaqar-metadata.json"
                check "the agent's Client-ID is kept in the state dir" test -s "$state/zaqar-client-id"
        fi

        log "update $name (message v1 -> v2)"
        openstack stack update --existing --parameter message=v2 "$name" >/dev/null || fail "stack update"
        s=$(wait_status "$name" 300 UPDATE_COMPLETE)
        check "update: $s" [ "$s" = UPDATE_COMPLETE ]
        redeployed "$name" "$port" "$ids1" "$infra1"
        check "deploy_stderr says what changed" grep -q "$name.web replaced (env MESSAGE), $name._infra kept" \
                <<<"$(output "$name" deploy_stderr)"
        local ids2=$ids_now
        [ "$1" = ZAQAR_MESSAGE ] && check "the queue is drained after the update" queue_drained "$boot" 30

        if [ "$5" = yes ]; then
                log "invalid update of $name"
                local bad
                bad=$(printf 'version: v1beta2\ncontainers:\n  - name: web.frontend\n    image: podhook.local/apache:1\n')
                openstack stack update --existing --parameter manifest="$bad" "$name" >/dev/null || fail "stack update (invalid)"
                s=$(wait_status "$name" 300 UPDATE_COMPLETE)
                check "invalid manifest: UPDATE_FAILED ($s)" [ "$s" = UPDATE_FAILED ]
                local reason
                reason=$(openstack stack show "$name" -f value -c stack_status_reason)
                check "the status reason says the deployment failed" grep -q "Deployment to server failed" <<<"$reason"
                local err
                err=$(output "$name" deploy_stderr)
                check "deploy_stderr has the validation message" grep -q 'web.frontend.*must not contain a dot' <<<"$err"
                check "deploy_status_code is not 0" [ "$(output "$name" deploy_status_code)" != 0 ]
                check "the running pod was left alone" [ "$ids2" = "$(pod_ids "$name")" ]
                check "the pod still serves" serves "$port"
        fi

        log "delete $name"
        openstack stack delete -y "$name" >/dev/null || fail "stack delete"
        s=$(wait_status "$name" 300 GONE)
        check "delete: $s" [ "$s" = GONE ]
        check "the pod is gone" [ -z "$(pod_all "$name")" ]
        check "no secret of the bootstrap in the agent's log" no_secret "$work/$name.log" "$boot"
        check "state files are private" [ -z "$(find "$state" -perm /077 ! -type l)" ]
        stop_agent "$agent_pid"
}

crash_resume() {
        local name=phe2e-crash-$$ s
        local boot=$work/$name.boot.json state=$work/$name.state hooks=$work/hooks
        stacks+=("$name")
        mkdir -p "$hooks"
        cp "$src/tests/e2e/block-hook" "$hooks/phe2e_block"
        mkfifo "$work/fifo"
        export PHE2E_DIR=$work HEAT_CONFIG_HOOKS=$hooks

        log "create $name (a deployment that blocks until released)"
        openstack stack create -t "$src/tests/e2e/crash-stack.yaml" --parameter server_name="$name-node" "$name" \
                >/dev/null || fail "stack create"
        bootstrap "$name" "$boot" || fail "no os_collect_config output"
        start_agent "$name" "$boot" "$state"
        local first=$agent_pid deadline=$((SECONDS + 180))
        while [ ! -e "$work/started.1" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
        check "the deployment started" [ -e "$work/started.1" ]
        kill -9 "$first"
        wait "$first" 2>/dev/null
        kill "$(cat "$work/started.1")" 2>/dev/null # the orphaned hook of the killed agent
        check "the state shows it in progress" test -n "$(compgen -G "$state/inprogress/*.json")"
        check "nothing was signalled" [ "$(stack_status "$name")" = CREATE_IN_PROGRESS ]

        log "restart the agent"
        start_agent "$name" "$boot" "$state"
        deadline=$((SECONDS + 120))
        while [ ! -e "$work/started.2" ] && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
        check "the restarted agent resumed the deployment" [ -e "$work/started.2" ]
        echo go >"$work/fifo"
        s=$(wait_status "$name" 180 CREATE_COMPLETE)
        check "create after the crash: $s" [ "$s" = CREATE_COMPLETE ]
        check "the signal came from the second run" [ "$(output "$name" runs)" = 2 ]
        check "deploy_stdout is the hook's" [ "$(output "$name" deploy_stdout)" = "released go" ]
        check "the agent logged the resume" grep -q "resuming interrupted CREATE" "$work/$name.log"
        check "no in-progress record left" [ -z "$(compgen -G "$state/inprogress/*.json")" ]
        check "Number inputs reach the hook as numbers" grep -q '"value": 42' "$work/input.json"
        check "no secret of the bootstrap in the agent's log" no_secret "$work/$name.log" "$boot"
        stop_agent "$agent_pid"
        openstack stack delete -y "$name" >/dev/null || fail "stack delete"
        s=$(wait_status "$name" 300 GONE)
        check "delete (no DELETE action, nothing to signal): $s" [ "$s" = GONE ]
}

# stubborn_manifest PORT MESSAGE: apache plus a container that ignores SIGTERM (its stop waits the grace period).
stubborn_manifest() {
        cat <<EOF2
version: v1beta2
containers:
  - name: web
    image: podhook.local/apache:1
    command: [/run-apache.sh]
    ports:
      - containerPort: 80
        hostPort: $1
  - name: stubborn
    image: podhook.local/busybox:1
    command: [sh, -c, "trap '' TERM; while :; do sleep 1; done"]
    env:
      - name: MESSAGE
        value: "$2"
EOF2
}

crash_docker() {
        local name=phe2e-crashd-$$ port s
        port=$(free_port 18900 18999) || fail "no free port in 18900-18999"
        stacks+=("$name")
        pods+=("$name")
        local boot=$work/$name.boot.json state=$work/$name.state

        log "create $name (pod with a container that ignores SIGTERM, grace 20 s)"
        # --parameter-file: the client splits --parameter values at ';'.
        stubborn_manifest "$port" v1 >"$work/m1.yaml"
        stubborn_manifest "$port" v2 >"$work/m2.yaml"
        openstack stack create -t "$tmpl" --parameter pod_name="$name" --parameter server_name="$name-node" \
                --parameter-file manifest="$work/m1.yaml" --parameter grace_period=20 "$name" \
                >/dev/null || fail "stack create"
        bootstrap "$name" "$boot" || fail "no os_collect_config output"
        start_agent "$name" "$boot" "$state"
        s=$(wait_status "$name" 300 CREATE_COMPLETE)
        check "create: $s" [ "$s" = CREATE_COMPLETE ]
        local ids1 infra1
        ids1=$(pod_ids "$name")
        infra1=$(infra_id "$name")
        check "two containers run" [ "$(wc -l <<<"$ids1")" = 2 ]

        log "update $name, SIGKILL the agent while the update runs"
        openstack stack update -t "$tmpl" --existing --parameter-file manifest="$work/m2.yaml" "$name" >/dev/null ||
                fail "stack update"
        local first=$agent_pid deadline=$((SECONDS + 120))
        while [ -z "$(compgen -G "$state/inprogress/*.json")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        check "the update started" test -n "$(compgen -G "$state/inprogress/*.json")"
        kill -9 "$first"
        wait "$first" 2>/dev/null
        check "nothing was signalled" [ "$(stack_status "$name")" = UPDATE_IN_PROGRESS ]

        log "restart the agent"
        start_agent "$name" "$boot" "$state"
        s=$(wait_status "$name" 300 UPDATE_COMPLETE)
        check "update after the crash: $s" [ "$s" = UPDATE_COMPLETE ]
        check "the agent logged the resume" grep -q "resuming interrupted UPDATE" "$work/$name.log"
        redeployed "$name" "$port" "$ids1" "$infra1"
        check "no in-progress record left" [ -z "$(compgen -G "$state/inprogress/*.json")" ]

        log "delete $name"
        openstack stack delete -y "$name" >/dev/null || fail "stack delete"
        s=$(wait_status "$name" 300 GONE)
        check "delete: $s" [ "$s" = GONE ]
        check "the pod is gone" [ -z "$(pod_all "$name")" ]
        stop_agent "$agent_pid"
}

# A ZAQAR_MESSAGE stack whose agent is killed after it claimed the metadata (before anything is stored),
# and, for the update, after it stored it but before it deleted the messages.
zaqar_crash() {
        local name=phe2e-zqcrash-$$ port s t0 took
        port=$(free_port 18900 18999) || fail "no free port in 18900-18999"
        stacks+=("$name")
        pods+=("$name")
        local boot=$work/$name.boot.json state=$work/$name.state

        log "create $name (ZAQAR_MESSAGE + ZAQAR_SIGNAL), pod on port $port"
        openstack stack create -t "$tmpl" --parameter config_transport=ZAQAR_MESSAGE \
                --parameter signal_transport=ZAQAR_SIGNAL --parameter pod_name="$name" \
                --parameter server_name="$name-node" --parameter host_port="$port" --parameter message=v1 \
                --parameter grace_period=2 "$name" >/dev/null || fail "stack create"
        bootstrap "$name" "$boot" || fail "no os_collect_config output"
        local deadline=$((SECONDS + 120))
        while [ "$(zq "$boot" deployments 2>/dev/null)" != 1 ] && [ $SECONDS -lt $deadline ]; do sleep 1; done
        check "Heat posted the CREATE metadata to the queue" [ "$(zq "$boot" deployments)" = 1 ]

        log "agent 1: killed right after its claim"
        PODHOOK_TEST_FAULT=zaqar-after-claim start_agent "$name" "$boot" "$state"
        check "it died at the fault point" wait_exit "$agent_pid" 60
        check "with the fault's exit status" [ "$exit_rc" = 86 ]
        t0=$SECONDS
        check "the claimed messages are still in the queue" [ "$(zq "$boot" deployments)" = 1 ]
        check "nothing was stored" [ ! -e "$state/zaqar-metadata.json" ]

        log "agent 2: the messages are claimed by the dead agent until the claim runs out"
        start_agent "$name" "$boot" "$state"
        s=$(wait_status "$name" 300 CREATE_COMPLETE)
        took=$((SECONDS - t0))
        check "create after the crash: $s" [ "$s" = CREATE_COMPLETE ]
        log "CREATE_COMPLETE ${took}s after the kill"
        check "not before the claim ran out (60 s)" [ "$took" -ge 55 ]
        check "the pod serves on port $port" serves "$port"
        check "the queue is drained" queue_drained "$boot" 30
        check "CREATE ran once" [ "$(grep -c "running CREATE" "$work/$name.log")" = 1 ]
        local ids1 infra1
        ids1=$(pod_ids "$name")
        infra1=$(infra_id "$name")
        stop_agent "$agent_pid"

        log "update $name; agent 3: killed after storing the metadata, before deleting its messages"
        openstack stack update --existing --parameter message=v2 "$name" >/dev/null || fail "stack update"
        deadline=$((SECONDS + 120))
        while ! has_action "$boot" UPDATE && [ $SECONDS -lt $deadline ]; do sleep 1; done
        check "Heat posted the UPDATE metadata" has_action "$boot" UPDATE
        PODHOOK_TEST_FAULT=zaqar-before-delete start_agent "$name" "$boot" "$state"
        check "it died at the fault point" wait_exit "$agent_pid" 60
        check "with the fault's exit status" [ "$exit_rc" = 86 ]
        check "the UPDATE metadata is stored" grep -q '"UPDATE"' "$state/zaqar-metadata.json"
        check "its message is still in the queue" has_action "$boot" UPDATE
        check "nothing was run or signalled" [ "$(stack_status "$name")" = UPDATE_IN_PROGRESS ]

        log "agent 4: runs the stored update at once; the messages come back and are deleted"
        t0=$SECONDS
        start_agent "$name" "$boot" "$state"
        s=$(wait_status "$name" 300 UPDATE_COMPLETE)
        took=$((SECONDS - t0))
        check "update after the crash: $s" [ "$s" = UPDATE_COMPLETE ]
        log "UPDATE_COMPLETE ${took}s after the restart"
        check "without waiting for the claim" [ "$took" -lt 50 ]
        redeployed "$name" "$port" "$ids1" "$infra1"
        check "the messages that came back are deleted" queue_drained "$boot" 120
        check "UPDATE ran once" [ "$(grep -c "running UPDATE" "$work/$name.log")" = 1 ]
        check "and the pod was not touched again" [ "$ids_now" = "$(pod_ids "$name")" ]

        log "delete $name"
        openstack stack delete -y "$name" >/dev/null || fail "stack delete"
        s=$(wait_status "$name" 300 GONE)
        check "delete: $s" [ "$s" = GONE ]
        check "the pod is gone" [ -z "$(pod_all "$name")" ]
        check "no secret of the bootstrap in the agent's log" no_secret "$work/$name.log" "$boot"
        stop_agent "$agent_pid"
}

# A group kubelet deployment (heat-templates/deployed-server-kubelet-pod.yaml): the agent writes the
# static pod, the stand-in kubelet runs it after a moment, Heat hears Running; the stack's delete takes
# the file, and only it.
kubelet_lifecycle() {
        local name=phe2e-kubelet-$$ s kdir=$work/manifests py=/usr/bin/python3
        "$py" -c 'import yaml' 2>/dev/null || skip "no python3-yaml for tests/kubelet/fake-kubelet.py"
        command -v jq >/dev/null || skip "no jq"
        mkdir -p "$kdir"
        echo "not podhook's" >"$kdir/other.yaml"
        "$py" "$src/tests/kubelet/fake-kubelet.py" --dir "$kdir" --port-file "$work/kubelet.port" \
                --scenario running --delay 3 >>"$work/kubelet.log" 2>&1 &
        echo $! >"$work/started.kubelet"
        local deadline=$((SECONDS + 10))
        until [ -s "$work/kubelet.port" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
        [ -s "$work/kubelet.port" ] || fail "fake-kubelet.py did not start"
        # In the environment (the agent's PODHOOK_<KEY>), so the clean-up's agent uses them too.
        export PODHOOK_KUBELET_MANIFEST_DIR=$kdir PODHOOK_KUBELET_URL=http://127.0.0.1:$(cat "$work/kubelet.port")/pods
        local url=$PODHOOK_KUBELET_URL
        stacks+=("$name")
        local boot=$work/$name.boot.json state=$work/$name.state

        log "create $name (group kubelet), the kubelet stand-in at $url"
        openstack stack create -t "$src/heat-templates/deployed-server-kubelet-pod.yaml" \
                --parameter server_name="$name-node" --parameter pod_name="$name" --parameter poll_period=0.5 \
                --parameter containers_timeout=60 "$name" >/dev/null || fail "stack create"
        bootstrap "$name" "$boot" || fail "no os_collect_config output"
        "$podhook" agent --bootstrap "$boot" --state-dir "$state" --interval 2 --retry-max 4 --occ-config '' \
                --config '' --log-level debug >>"$work/$name.log" 2>&1 &
        agent_pid=$!
        agents+=("$agent_pid")
        s=$(wait_status "$name" 300 CREATE_COMPLETE)
        check "create: $s" [ "$s" = CREATE_COMPLETE ]
        check "the static pod's file is there" test -f "$kdir/podhook-$name.yaml"
        check "its Pod carries the deployment's stack" grep -q "io.podhook/stack" "$kdir/podhook-$name.yaml"
        local out
        out=$(output "$name" deploy_stdout)
        check "deploy_stdout is the Pod's v1 status: Running, its container ready" bash -c 'jq -e "$1" >/dev/null <<<"$0"' \
                "$out" '.phase == "Running" and .containerStatuses[0].ready == true and .containerStatuses[0].name == "web-server"'
        check "deploy_status_code 0" [ "$(output "$name" deploy_status_code)" = 0 ]
        check "deploy_stderr says it runs" grep -q "pod $name is running: 1 container(s) ready" \
                <<<"$(output "$name" deploy_stderr)"
        if command -v node >/dev/null && [ -d "$src/tests/kubelet/schema/node_modules/kubernetes-models" ]; then
                "$py" -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' \
                        "$kdir/podhook-$name.yaml" >"$work/pod.json"
                check "the Pod is valid against the Kubernetes schema" node "$src/tests/kubelet/validate-pod.js" "$work/pod.json"
        fi

        log "delete $name"
        openstack stack delete -y "$name" >/dev/null || fail "stack delete"
        s=$(wait_status "$name" 300 GONE)
        check "delete: $s" [ "$s" = GONE ]
        check "the file is gone" [ ! -e "$kdir/podhook-$name.yaml" ]
        check "the kubelet's other file is untouched" [ "$(cat "$kdir/other.yaml")" = "not podhook's" ]
        check "no secret of the bootstrap in the agent's log" no_secret "$work/$name.log" "$boot"
        stop_agent "$agent_pid"
}

case $case_name in
heat)
        # The Nova template cannot run here (no Nova), but Heat must accept it.
        check "Heat validates heat-templates/nova-server-pod.yaml" bash -c "openstack orchestration template validate \
                -t '$src/heat-templates/nova-server-pod.yaml' --parameter image=any >/dev/null"
        pod_lifecycle POLL_SERVER_HEAT HEAT_SIGNAL 18500 18699 yes
        ;;
cfn) pod_lifecycle POLL_SERVER_CFN CFN_SIGNAL 18700 18899 no ;;
zaqar) pod_lifecycle ZAQAR_MESSAGE ZAQAR_SIGNAL 18500 18699 yes ;;
tempurl) pod_lifecycle POLL_TEMP_URL TEMP_URL_SIGNAL 18700 18899 yes ;;
zaqar-crash) zaqar_crash ;;
crash) crash_resume ;;
crash-docker) crash_docker ;;
kubelet) kubelet_lifecycle ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: $case_name"
