#!/bin/bash
# A killed podhook is repaired by the next run. `podhook apply` is killed with SIGKILL after each of the
# Engine calls of an update that changes one container, and of one that replaces the whole pod (the test
# fault point PODHOOK_TEST_CRASH_AFTER_CALLS=N kills it once N calls that change the Engine have been
# answered), and of an update that fails and is rolled back (its rollback's calls too); on Docker also
# while the Engine is in the middle of a removal (killed on the Engine's own kill/destroy events). After each, the next apply (or `podhook hook`, or an agent start, with or without the
# journal) leaves exactly one container per name, none put aside, no journal, the pod serving. Two
# applies of one pod at once both succeed, one after the other, leaving one good pod.
PREFIX=phtest-crash
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-web
P1=$((18080 + PORT_SHIFT))
P2=$((18081 + PORT_SHIFT))
manifest() { # PAGE PORT SIDE-SLEEP
        cat <<YAML
version: v1beta2
id: $POD
containers:
$(web_container "$1" "$2")
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: cache
    image: podhook.local/redis:1
  - name: side
    image: podhook.local/busybox:1
    command: ["/bin/sleep", "$3"]
    volumeMounts: [{name: shared, mountPath: /shared}]
volumes: [{name: shared}]
YAML
}
manifest one $P1 100000 >"$TMP/base.yaml"
manifest one $P1 100001 >"$TMP/one.yaml"   # side changes
manifest two $P2 100000 >"$TMP/moved.yaml" # the pod moves: infra and all apps replaced
manifest bad $P1 not-a-number >"$TMP/crashing.yaml" # web changes and runs, side fails at once

names() {
        "$D" ps -a --filter "label=io.podhook.pod=$POD" --format '{{.Names}}' | sort | tr '\n' ' '
}
serves() { # PORT PAGE
        [ "$(curl -fsS --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null)" = "page-$2" ]
}
no_journal() {
        [ -z "$(ls "$PODHOOK_STATE_DIR/pods" 2>/dev/null)" ]
}
all_running() {
        [ "$("$D" ps --filter "label=io.podhook.pod=$POD" --format '{{.Names}}' | grep -c .)" = 4 ]
}
# whole WHAT PORT PAGE: the pod is whole and serves
whole() {
        check_eq "$1: one container per name, none aside" "$(names)" "$POD._infra $POD.cache $POD.side $POD.web "
        check "$1: all running" wait_for 10 all_running
        check "$1: serves page $3 on $2" wait_for 20 serves "$2" "$3"
        check "$1: no journal left" no_journal
}
apply() {
        "$PODHOOK" apply --start-window 0 "$@" >/dev/null 2>>"$TMP/log"
}
echo "data" >"$TMP/marker"
apply "$TMP/base.yaml"
check "the base pod applies" [ $? -eq 0 ]
"$D" exec "$POD.side" sh -c 'echo precious > /shared/data'

# sweep TARGET PORT PAGE: kill after call 1, 2, ... of the update to TARGET until one completes; after
# each kill the next run repairs (it alternates between applying the target again, applying the base
# again, the hook, and an agent start; every third time without the journal, as with another state dir)
sweep() {
        local target=$1 port=$2 page=$3 n=0 rc kills=0 how
        while :; do
                n=$((n + 1))
                PODHOOK_TEST_CRASH_AFTER_CALLS=$n "$PODHOOK" apply --start-window 0 "$target" >/dev/null 2>>"$TMP/log"
                rc=$?
                if [ $rc -ne 137 ]; then
                        check_eq "$(basename "$target"): the update after $((n - 1)) kills completes" "$rc" 0
                        whole "$(basename "$target") completed" "$port" "$page"
                        break
                fi
                kills=$((kills + 1))
                # Without a journal an agent start has nothing to go by when no container was put aside
                # yet (the next apply has the manifest): drop it only before an apply or a hook run.
                [ $((n % 3)) = 0 ] && [ $((n % 4)) != 3 ] && rm -f "$PODHOOK_STATE_DIR"/pods/*.journal.json
                case $((n % 4)) in
                0) how="apply of the target"; apply "$target"; rc=$?; want_port=$port; want_page=$page ;;
                1) how="apply of the base"; apply "$TMP/base.yaml"; rc=$?; want_port=$P1; want_page=one ;;
                2) how="hook"
                   jq -n --arg config "$(cat "$target")" --arg name "$POD" '{id: "cfg", name: $name,
                        group: "docker", config: $config, inputs: [{name: "deploy_action", value: "UPDATE"}]}' |
                        "$PODHOOK" hook --start-window 0 >"$TMP/res.json" 2>>"$TMP/log"
                   rc=$?; want_port=$port; want_page=$page ;;
                3) how="agent start"
                   "$PODHOOK" agent --bootstrap "$TMP/boot.json" --state-dir "$PODHOOK_STATE_DIR" --occ-config '' \
                        --config '' --one-time >>"$TMP/log" 2>&1
                   rc=$?
                   # the agent only repairs: the pod is the old one or the new one, whole either way
                   if wait_for 5 serves $P1 one; then want_port=$P1; want_page=one; else want_port=$port; want_page=$page; fi ;;
                esac
                check_eq "killed after call $n, then $how: exit 0" "$rc" 0
                whole "killed after call $n, then $how" "$want_port" "$want_page"
                # back to the base for the next kill
                apply "$TMP/base.yaml"
                [ "$(names)" = "$POD._infra $POD.cache $POD.side $POD.web " ] || fail "the base did not come back after call $n"
        done
        echo "# $(basename "$target"): killed after each of $kills calls"
        check "$(basename "$target"): at least 5 kill points" [ "$kills" -ge 5 ]
}
mkdir -m 700 -p "$TMP/meta"
echo '{"deployments": []}' >"$TMP/meta/meta.json"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$TMP/meta" >"$TMP/boot.json"

sweep "$TMP/one.yaml" $P1 one
sweep "$TMP/moved.yaml" $P2 two

# sweep_rollback: an update that fails (side exits at once) and is rolled back, killed after each of its
# calls, its rollback's included; the next apply of the base repairs, and the base serves. Until the
# update fails by itself.
sweep_rollback() {
        local n=0 rc kills=0
        while :; do
                n=$((n + 1))
                PODHOOK_TEST_CRASH_AFTER_CALLS=$n "$PODHOOK" apply "$TMP/crashing.yaml" >/dev/null 2>>"$TMP/log"
                rc=$?
                [ $rc -ne 137 ] && break
                kills=$((kills + 1))
                apply "$TMP/base.yaml"
                check_eq "rollback killed after call $n, then apply of the base: exit 0" "$?" 0
                whole "rollback killed after call $n" $P1 one
        done
        check_eq "the failing update fails by itself after $kills kills" "$rc" 1
        echo "# crashing.yaml (rolled back): killed after each of $kills calls"
        check "crashing.yaml: killed in the rollback too (more calls than the update's 8)" [ "$kills" -gt 8 ]
}
sweep_rollback
apply "$TMP/base.yaml"
check_eq "the emptyDir data survived every kill" "$("$D" exec "$POD.side" cat /shared/data)" precious

# --- killed while the Engine removes a container: the rollback of an update whose side fails removes
# the new web (running), and podhook dies at the Engine's kill event of that removal ---
gen=$(( $("$D" ps -a --filter "label=io.podhook.pod=$POD" --format '{{.Label "io.podhook.generation"}}' | sort -n | tail -1) + 1 ))
now() {
        date +%s.%N
}
# kill_on_event MANIFEST FILTER...: apply MANIFEST, SIGKILL it at the first matching event of the pod
# (replayed from the apply's start, so the watcher cannot miss it); the apply's exit code
kill_on_event() {
        local target=$1 t0 ap ev rd rc
        shift
        rm -f "$TMP/events"
        mkfifo "$TMP/events"
        t0=$(now)
        "$PODHOOK" apply "$target" >/dev/null 2>>"$TMP/log" &
        ap=$!
        "$D" events --since "$t0" --filter "label=io.podhook.pod=$POD" "$@" --format '{{.Action}}' >"$TMP/events" &
        ev=$!
        { read -r _ <"$TMP/events" && kill -9 $ap; } 2>/dev/null &
        rd=$!
        wait $ap 2>/dev/null
        rc=$?
        kill $ev 2>/dev/null
        wait $ev $rd 2>/dev/null
        return $rc
}
# Podman removes a running container in a fifth of a second, and its event stream (read from a file)
# comes later than that: the kill lands after the rollback in most runs. There the rollback sweep above
# kills at each of its calls instead.
if [ "$ENGINE" = docker ]; then
        kill_on_event "$TMP/crashing.yaml" --filter "label=io.podhook.generation=$gen" --filter event=kill
        check_eq "killed during a rollback's removal" "$?" 137
else
        echo "# not on Podman: killed at the Engine's own event during a rollback's removal"
fi
apply "$TMP/base.yaml"
check "after it, the next apply exits 0" [ $? -eq 0 ]
whole "after a kill during a removal" $P1 one

# --- killed at the Engine's destroy of an old container (the update had passed) ---
# Podman removes a stopped container with one event (remove) and answers at once: podhook has read the
# answer and finished before a watcher of that event can kill it (its exit code was 0 in every run tried).
# There the sweep's kill right after the removal's answer stands for this point.
if [ "$ENGINE" = docker ]; then
        kill_on_event "$TMP/one.yaml" --filter event=destroy
        check_eq "killed at the removal of an old container" "$?" 137
else
        apply "$TMP/one.yaml"
        echo "# not on Podman: killed at the removal of an old container (the sweep's kill after it covers it)"
fi
apply "$TMP/one.yaml"
check "after it, the next apply exits 0" [ $? -eq 0 ]
whole "after a kill at a destroy" $P1 one

# --- two applies of one pod at once: one waits for the other; both succeed; one good pod ---
# Both change the pod (it runs "moved" first), so that the second surely finds the first at work.
for trial in 1 2 3; do
        apply "$TMP/moved.yaml"
        "$PODHOOK" apply "$TMP/base.yaml" >/dev/null 2>"$TMP/c1" &
        a1=$!
        "$PODHOOK" apply "$TMP/one.yaml" >/dev/null 2>"$TMP/c2" &
        a2=$!
        wait $a1
        r1=$?
        wait $a2
        r2=$?
        check_eq "concurrent applies $trial: both exit 0" "$r1 $r2" "0 0"
        check "concurrent applies $trial: one waited for the other, saying so" \
                grep -qh "waiting for another podhook process" "$TMP/c1" "$TMP/c2"
        check_eq "concurrent applies $trial: one container per name, none aside" "$(names)" \
                "$POD._infra $POD.cache $POD.side $POD.web "
        check "concurrent applies $trial: the pod serves" wait_for 20 serves $P1 one
        check "concurrent applies $trial: no journal left" no_journal
done
sed 's/^/# /' "$TMP/log" | grep -v '^# pod ' | head -n 20
