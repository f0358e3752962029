#!/bin/bash
# podhook prune (docs/clean-node.md): the images podhook pulled (from a docker-registry this test runs,
# as pod-pull.sh does) go once no container uses them; an image a container podhook did not create
# uses, an image podhook did not pull (a local build) and the infra image stay; --dry-run removes
# nothing. Then the state podhook no longer needs goes at the end of an apply or delete, once older
# than its limit, and what is still needed stays.
PREFIX=phtest-prune
. "$(dirname "$0")/lib.sh"

# The registry port of pod-pull.sh: the Podman run's is listed insecure in tools/podman/registries.conf.
REGPORT=$((18050 + PORT_SHIFT))
REG=127.0.0.1:$REGPORT
A=$REG/phtest-prune/a:1
B=$REG/phtest-prune/b:1
SAME=$REG/phtest-prune/same:1
LOCAL=podhook.local/busybox:1
STATE=$PODHOOK_STATE_DIR
stop_registry() {
        registry_stop
        "$D" rmi "$A" "$B" "$SAME" >/dev/null 2>&1
        return 0
}
trap 'stop_registry; finish' EXIT
registry_start "$TMP" "$REG" || exit $?

# Two images of their own (a label each makes a new image ID on the local image's layers), pushed and
# then removed here, so that podhook pulls them; and the local image under a registry name (same ID).
for img in "$A" "$B"; do
        "$D" rm -f "$PREFIX-mk" >/dev/null 2>&1
        "$D" create --name "$PREFIX-mk" --label io.podhook.test-prefix="$PREFIX" "$LOCAL" true >/dev/null &&
                "$D" commit --change "LABEL phtest.prune=$img" "$PREFIX-mk" "$img" >/dev/null &&
                "$D" push "$img" >/dev/null
        check "$img is in the registry" [ $? -eq 0 ]
done
"$D" rm -f "$PREFIX-mk" >/dev/null 2>&1
"$D" tag "$LOCAL" "$SAME" && "$D" push "$SAME" >/dev/null
check "$SAME (the local image) is in the registry" [ $? -eq 0 ]
"$D" rmi "$A" "$B" "$SAME" >/dev/null
check "and none is present under its registry name" bash -c "! $D image inspect $A >/dev/null 2>&1 &&
        ! $D image inspect $B >/dev/null 2>&1 && ! $D image inspect $SAME >/dev/null 2>&1"
local_id=$("$D" image inspect -f '{{.Id}}' "$LOCAL")

manifest() { # IMAGE
        cat <<YAML
version: v1beta2
containers:
  - name: app
    image: $1
    command: ["/bin/sleep", "100000"]
YAML
}
n=0
for img in "$A" "$B" "$SAME" "$LOCAL"; do
        n=$((n + 1))
        manifest "$img" >"$TMP/p$n.yaml"
        "$PODHOOK" apply --name "$PREFIX-p$n" "$TMP/p$n.yaml" >/dev/null 2>"$TMP/err"
        check "pod p$n ($img) runs" [ $? -eq 0 ] || sed 's/^/# /' "$TMP/err"
done
a_id=$("$D" image inspect -f '{{.Id}}' "$A")
b_id=$("$D" image inspect -f '{{.Id}}' "$B")
record() { # IMAGE-ID: its pull record
        cat "$STATE/images/${1#sha256:}.json"
}
check_eq "three pulls are recorded, one file per image" "$(ls "$STATE/images" | grep -c '\.json$')" 3
check_eq "the record of $A: its ref, its pod" "$(record "$a_id" | jq -c '[.id, .refs, .pods]')" \
        "[\"$a_id\",[\"$A\"],[\"$PREFIX-p1\"]]"
check_eq "the record of $SAME has the local image's ID" "$(record "$local_id" | jq -r '.refs[0]')" "$SAME"
check "no record of the local image's own name (not pulled)" bash -c "! grep -rq '\"$LOCAL\"' '$STATE/images'"
check "nothing to prune while the pods run" bash -c "'$PODHOOK' prune --json | jq -e 'map(select(.result == \"would remove\" or .result == \"removed\")) | length == 0' >/dev/null"

# A container podhook did not create, not even running, uses B.
"$D" create --name "$PREFIX-foreign" --label io.podhook.test-prefix="$PREFIX" "$B" true >/dev/null
for n in 1 2 3 4; do
        "$PODHOOK" delete "$PREFIX-p$n" 2>"$TMP/err"
        check "pod p$n deleted" [ $? -eq 0 ] || sed 's/^/# /' "$TMP/err"
done

"$PODHOOK" prune --dry-run --json >"$TMP/dry.json" 2>"$TMP/err"
check "prune --dry-run succeeds" [ $? -eq 0 ] || sed 's/^/# /' "$TMP/err"
sed 's/^/# dry: /' "$TMP/dry.json" | head -40
result_of() { # FILE IMAGE-ID
        jq -r --arg id "$2" '.[] | select(.id == $id) | .result' "$1"
}
check_eq "--dry-run: $A would go" "$(result_of "$TMP/dry.json" "$a_id")" "would remove"
check_eq "--dry-run: $B is in use" "$(result_of "$TMP/dry.json" "$b_id")" "in use"
check "by the foreign container" bash -c "jq -e --arg id '$b_id' '.[] | select(.id == \$id) | .why | test(\"$PREFIX-foreign\")' '$TMP/dry.json' >/dev/null"
present() {
        "$D" image inspect "$@" >/dev/null 2>&1
}
check "--dry-run removed nothing" present "$A" "$B"
check_eq "and kept every record" "$(ls "$STATE/images" | grep -c '\.json$')" 3
"$PODHOOK" prune --dry-run >"$TMP/dry.txt"
check "the text says what would be removed" grep -q "^would remove *$A " "$TMP/dry.txt"

"$PODHOOK" prune --json >"$TMP/prune.json" 2>"$TMP/err"
check "prune succeeds" [ $? -eq 0 ] || sed 's/^/# /' "$TMP/err"
sed 's/^/# prune: /' "$TMP/prune.json" | head -40
check_eq "$A was removed" "$(result_of "$TMP/prune.json" "$a_id")" removed
check "and is gone from the engine" bash -c "! $D image inspect $a_id >/dev/null 2>&1"
check "with its record" [ ! -e "$STATE/images/${a_id#sha256:}.json" ]
check_eq "$B, used by a container podhook did not make, stays" "$(result_of "$TMP/prune.json" "$b_id")" "in use"
check "and is on the engine" present "$B"
check "the local image (its ID pulled as $SAME) stays" bash -c "[ \"\$($D image inspect -f '{{.Id}}' $LOCAL)\" = '$local_id' ]"
# Other tests' containers may run the local image: then it is in use and its names all stay.
same=$(result_of "$TMP/prune.json" "$local_id")
check "its record says kept (other names hold it) or in use: $same" grep -qxE 'kept|in use' <<<"$same"
if [ "$same" = kept ]; then
        check "only podhook's name of it went" bash -c "! $D image inspect $SAME >/dev/null 2>&1"
fi
check "the infra image stays" bash -c "$D image ls -q --filter reference='podhook/infra' | grep -q ."

"$D" rm -f "$PREFIX-foreign" >/dev/null
"$PODHOOK" prune >"$TMP/prune.txt" 2>"$TMP/err"
check "once the foreign container is gone, $B goes" grep -q "^removed *$B " "$TMP/prune.txt"
check "and is gone from the engine" bash -c "! $D image inspect $b_id >/dev/null 2>&1"

# --- state no longer needed ---------------------------------------------------------------------------
manifest "$LOCAL" >"$TMP/live.yaml"
"$PODHOOK" apply --name "$PREFIX-live" "$TMP/live.yaml" >/dev/null 2>&1
pods=$STATE/pods
mkdir -p "$pods" "$STATE/images"
echo '{"pod":"x","generation":2,"committed":true,"was_running":[],"started":[]}' >"$pods/$PREFIX-gone.journal.json"
echo '{"0123":{"kind":"tcpSocket","port":80}}' >"$pods/$PREFIX-gone.prestop.json"
echo '{}' >"$pods/x.json.tmp.AbC123"
echo '{"pod":"x","generation":2,"committed":true,"was_running":[],"started":[]}' >"$pods/$PREFIX-live.journal.json"
echo '{"pod":"x","generation":2,"committed":true,"was_running":[],"started":[]}' >"$pods/$PREFIX-fresh.journal.json"
gone_hex=$(printf '%064d' 7)
echo "{\"id\":\"sha256:$gone_hex\",\"refs\":[\"$REG/phtest-prune/gone:1\"],\"pods\":[\"x\"],\"pulled_at\":1}" \
        >"$STATE/images/$gone_hex.json"
touch -d '2 days ago' "$pods/$PREFIX-gone.journal.json" "$pods/$PREFIX-gone.prestop.json" "$pods/x.json.tmp.AbC123" \
        "$pods/$PREFIX-live.journal.json" "$STATE/images/$gone_hex.json"
"$PODHOOK" delete "$PREFIX-nothing" 2>"$TMP/err"
check "a delete succeeds" [ $? -eq 0 ] || sed 's/^/# /' "$TMP/err"
check "the old journal of a pod with no container went" [ ! -e "$pods/$PREFIX-gone.journal.json" ]
check "its old preStop record too" [ ! -e "$pods/$PREFIX-gone.prestop.json" ]
check "an old temporary file too" [ ! -e "$pods/x.json.tmp.AbC123" ]
check "the old record of an image that is gone too" [ ! -e "$STATE/images/$gone_hex.json" ]
check "the journal of a pod that has containers stays, however old" [ -e "$pods/$PREFIX-live.journal.json" ]
check "a journal younger than a day stays" [ -e "$pods/$PREFIX-fresh.journal.json" ]
rm -f "$pods/$PREFIX-live.journal.json"
