#!/bin/bash
# Bounded logs (docs/clean-node.md): every container of a pod, the infra too, gets podhook's log limits;
# a chatty container's log files stay under them; --log-max-size 0 leaves the engine's own log config;
# new limits replace the apps and keep the infra; the hook takes them from the deployment's options.
PREFIX=phtest-logs
. "$(dirname "$0")/lib.sh"

POD=$PREFIX-chat
# A line of 100 bytes (with its newline), printed LINES times, then a mark: 1 MB of log.
LINES=10000
chatty() { # the manifest of a pod whose app prints 1 MB to stdout, then says done and sleeps
        cat <<YAML
version: v1beta2
containers:
  - name: chat
    image: podhook.local/busybox:1
    command: ["/bin/sh", "-c", "i=0; while [ \$i -lt $LINES ]; do echo \"\$(printf '%090d' \$i)\"; i=\$((i+1)); done; echo done-printing; exec sleep 100000"]
YAML
}
chatty >"$TMP/chat.yaml"

# log_config NAME: the container's HostConfig.LogConfig as the compatible API shows it, compact.
log_config() {
        "$D" inspect -f '{{json .HostConfig.LogConfig}}' "$1" | jq -cS .
}
# Podman's compatible inspect leaves LogConfig.Config out; its own shows the size it keeps to ("Size").
libpod_log_size() {
        curl -fsS --max-time 10 --unix-socket "${DOCKER_HOST#unix://}" "http://d/v1.41/libpod/containers/$1/json" |
                jq -r '.HostConfig.LogConfig.Size'
}
# log_state NAME: what the engine says of the container's logs (on Podman its own inspect's size too).
log_state() {
        if [ "$ENGINE" = podman ]; then
                echo "$(log_config "$1") $(libpod_log_size "$("$D" inspect -f '{{.Id}}' "$1")")"
        else
                log_config "$1"
        fi
}
log_says_done() {
        "$D" logs --tail 1 "$1" 2>/dev/null | grep -q done-printing
}
# log_bytes NAME: the bytes of every log file of the container (the current one and its rotated ones).
log_bytes() {
        local path
        path=$("$D" inspect -f '{{.LogPath}}' "$1")
        cat "$path" "$path".* 2>/dev/null | wc -c
}
log_files() {
        local path
        path=$("$D" inspect -f '{{.LogPath}}' "$1")
        ls "$path" "$path".* 2>/dev/null | grep -c .
}

# --- limits on every container, and the files stay under them --------------------------------------
"$PODHOOK" apply --name "$POD" --log-max-size 64k --log-max-file 2 "$TMP/chat.yaml" >"$TMP/out.json" 2>"$TMP/err"
check "apply with --log-max-size 64k --log-max-file 2 succeeds" [ $? -eq 0 ] || sed 's/^/# /' "$TMP/err"
app=$POD.chat
infra=$POD._infra
if [ "$ENGINE" = docker ]; then
        for c in "$app" "$infra"; do
                check_eq "$c: json-file, 64 KiB, 2 files" "$(log_config "$c")" \
                        '{"Config":{"max-file":"2","max-size":"65536"},"Type":"json-file"}'
        done
else
        # Podman's conmon keeps one file and ignores max-file: the whole budget (2 x 64 KiB) goes to it.
        for c in "$app" "$infra"; do
                check_eq "$c: json-file" "$(log_config "$c" | jq -r .Type)" json-file
                check_eq "$c: one file of 2 x 64 KiB" "$(libpod_log_size "$("$D" inspect -f '{{.Id}}' "$c")")" 131.1kB
        done
fi
check "the app prints its 1 MB" wait_for 120 log_says_done "$app"
bytes=$(log_bytes "$app")
echo "# $app: $bytes bytes of log in $(log_files "$app") file(s) after 1 MB printed"
# Each file is rotated once it passes the size: at most one line over it.
check "its log files hold at most 2 x 64 KiB (+ a line each): $bytes" [ "$bytes" -le $((2 * (65536 + 300))) ]
check "and not nothing" [ "$bytes" -gt 1000 ]
if [ "$ENGINE" = docker ]; then
        check_eq "Docker rotated into 2 files" "$(log_files "$app")" 2
fi

# --- the defaults ---------------------------------------------------------------------------------------
cat >"$TMP/idle.yaml" <<YAML
version: v1beta2
containers:
  - name: idle
    image: podhook.local/busybox:1
    command: ["/bin/sleep", "100000"]
YAML
"$PODHOOK" apply --name "$PREFIX-dflt" "$TMP/idle.yaml" >/dev/null 2>"$TMP/err"
check "apply with the default limits succeeds" [ $? -eq 0 ] || sed 's/^/# /' "$TMP/err"
if [ "$ENGINE" = docker ]; then
        for c in "$PREFIX-dflt.idle" "$PREFIX-dflt._infra"; do
                check_eq "$c: json-file, 10 MiB, 3 files by default" "$(log_config "$c")" \
                        '{"Config":{"max-file":"3","max-size":"10485760"},"Type":"json-file"}'
        done
else
        check_eq "Podman: one file of 30 MiB by default" \
                "$(libpod_log_size "$("$D" inspect -f '{{.Id}}' "$PREFIX-dflt.idle")")" 31.46MB
fi

# --- off: the engine's own log config, as a container made without podhook has it -------------------
"$D" create --name "$PREFIX-plain" --label io.podhook.test-prefix="$PREFIX" podhook.local/busybox:1 sleep 1 >/dev/null
"$PODHOOK" apply --name "$PREFIX-off" --log-max-size 0 "$TMP/idle.yaml" >/dev/null 2>"$TMP/err"
check "apply with --log-max-size 0 succeeds" [ $? -eq 0 ] || sed 's/^/# /' "$TMP/err"
plain=$(log_state "$PREFIX-plain")
echo "# the engine's own: $plain"
check_eq "--log-max-size 0: the app has the engine's own log config" "$(log_state "$PREFIX-off.idle")" "$plain"
check_eq "and the infra" "$(log_state "$PREFIX-off._infra")" "$plain"
check "which is not podhook's" [ "$plain" != "$(log_state "$PREFIX-dflt.idle")" ]

# --- new limits replace the apps, keep the infra ----------------------------------------------------------
app_id=$("$D" inspect -f '{{.Id}}' "$PREFIX-dflt.idle")
infra_id=$("$D" inspect -f '{{.Id}}' "$PREFIX-dflt._infra")
"$PODHOOK" apply --name "$PREFIX-dflt" "$TMP/idle.yaml" >/dev/null 2>"$TMP/err"
check "an unchanged re-apply keeps the app" [ "$("$D" inspect -f '{{.Id}}' "$PREFIX-dflt.idle")" = "$app_id" ]
"$PODHOOK" apply --name "$PREFIX-dflt" --log-max-size 1m "$TMP/idle.yaml" >/dev/null 2>"$TMP/err"
check "new limits: the apply succeeds" [ $? -eq 0 ] || sed 's/^/# /' "$TMP/err"
check "and says the app was replaced for them" grep -q "$PREFIX-dflt.idle replaced (log limits)" "$TMP/err"
check "the app is a new container" [ "$("$D" inspect -f '{{.Id}}' "$PREFIX-dflt.idle")" != "$app_id" ]
check_eq "the infra is kept" "$("$D" inspect -f '{{.Id}}' "$PREFIX-dflt._infra")" "$infra_id"

# --- the hook: the deployment's options ------------------------------------------------------------------
hook_deployment() { # NAME OPTIONS-JSON
        jq -n --arg name "$1" --argjson opts "$2" --rawfile config "$TMP/idle.yaml" '{
                id: "dep-logs", name: $name, group: "docker", config: $config, options: $opts, outputs: [],
                inputs: [{name: "deploy_action", type: "String", value: "CREATE"}]}'
}
hook_deployment "$PREFIX-hook" '{"log_max_size": "32k", "log_max_file": 1}' |
        "$PODHOOK" hook --log-max-size 5m >"$TMP/res" 2>"$TMP/err"
check_eq "the hook applies" "$(jq -r .deploy_status_code "$TMP/res")" 0
if [ "$ENGINE" = docker ]; then
        check_eq "with the deployment's limits (they win over --log-max-size)" "$(log_config "$PREFIX-hook.idle")" \
                '{"Config":{"max-file":"1","max-size":"32768"},"Type":"json-file"}'
else
        check_eq "with the deployment's limits (they win over --log-max-size)" \
                "$(libpod_log_size "$("$D" inspect -f '{{.Id}}' "$PREFIX-hook.idle")")" 32.77kB
fi
hook_deployment "$PREFIX-bad" '{"log_max_size": "ten megabytes"}' | "$PODHOOK" hook >"$TMP/res" 2>"$TMP/err"
check_eq "a bad log_max_size is the deployment's error" "$(jq -r .deploy_status_code "$TMP/res")" 65
check "naming the option" bash -c "jq -r .deploy_stderr '$TMP/res' | grep -q 'deployment $PREFIX-bad: options.log_max_size: '"
check_eq "and nothing was created" "$(pod_count "$PREFIX-bad")" 0
"$PODHOOK" apply --name "$PREFIX-bad" --log-max-file 0 "$TMP/idle.yaml" >/dev/null 2>"$TMP/err"
check_eq "--log-max-file 0 is a usage error" "$?" 2
check "naming the option" grep -q -- "--log-max-file wants" "$TMP/err"
