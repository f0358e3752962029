#!/bin/bash
# Secrets by value on the real engine: the inspect output of `podhook apply`, the deploy_stdout of the
# docker hook and the body the agent signals carry no secret value, wherever it appears: env entries
# named DB_PASS, AUTH or PGPASSFILE_CONTENT, a --password=... or --api-key VALUE in the command, the same
# values again in another env entry or in another container, a URL's password, and the values of inputs
# named DB_PASS and mysql_root_pw written into the manifest. PWD and KEYBOARD_LAYOUT are no secrets.
PREFIX=phtest-secrets
. "$(dirname "$0")/lib.sh"
server=
trap 'st=$?; kill $server 2>/dev/null; (exit "$st"); finish' EXIT

POD=$PREFIX-db
# What the manifest itself marks as secret; a deployment's inputs add theirs.
manifest_secrets="EnvDbPass66
EnvAuth77
PgPassContent88
CmdLinePw99
CmdApiKey11
UrlPass22"
secrets="$manifest_secrets
InputDbPass44
MysqlRootPw55"
# manifest ID: two containers sharing the secrets, the input values written in (as Heat substitutes them)
manifest() {
        cat <<YAML
version: v1beta2
id: $1
containers:
  - name: db
    image: podhook.local/busybox:1
    command: [sh, -c, "sleep 3600", --password=CmdLinePw99, --api-key, CmdApiKey11, --keyboard, dvorak-plain]
    env:
      - {name: DB_PASS, value: EnvDbPass66}
      - {name: AUTH, value: EnvAuth77}
      - {name: PGPASSFILE_CONTENT, value: "db:5432:app:u:PgPassContent88"}
      - {name: CONN, value: "mysql://app:EnvDbPass66@db/app"}
      - {name: PROXY, value: "http://proxy-user:UrlPass22@proxy.example:3128"}
      - {name: FROM_HEAT, value: "InputDbPass44 and MysqlRootPw55"}
      - {name: PWD, value: /srv/plain-pwd}
      - {name: KEYBOARD_LAYOUT, value: us-intl-plain}
  - name: backup
    image: podhook.local/busybox:1
    command: [sleep, "3600"]
    env:
      - {name: TARGET, value: "ftp://backup:EnvAuth77@store.example/"}
      - {name: NOTE, value: "uses CmdApiKey11"}
YAML
}
no_secret_in() { # FILE WHAT [SECRETS]
        local s
        while read -r s; do
                check "$2: $s does not appear" bash -c "[ -s '$1' ] && ! grep -q '$s' '$1'"
        done <<<"${3:-$secrets}"
}

# --- podhook apply: the inspect array it prints ---
manifest "$POD" >"$TMP/db.yaml"
"$PODHOOK" apply --grace 1 "$TMP/db.yaml" >"$TMP/apply.json" 2>"$TMP/apply.err"
check "apply exits 0" [ $? -eq 0 ]
no_secret_in "$TMP/apply.json" "apply output" "$manifest_secrets"
check "DB_PASS redacted in place" jq_true '.[0].Config.Env | index("DB_PASS=<redacted>")' "$TMP/apply.json"
check "the same value in another entry too" jq_true '.[0].Config.Env | index("CONN=mysql://app:<redacted>@db/app")' "$TMP/apply.json"
check "--password=VALUE in Cmd" jq_true '.[0].Config.Cmd | index("--password=<redacted>")' "$TMP/apply.json"
check "--api-key VALUE in Cmd" jq_true '.[0].Config.Cmd as $c | ($c | index("--api-key")) as $i | $c[$i + 1] == "<redacted>"' "$TMP/apply.json"
check "and in Args" jq_true '.[0].Args | index("--password=<redacted>")' "$TMP/apply.json"
check "a value of one container in the other's env" jq_true '.[1].Config.Env | index("TARGET=ftp://backup:<redacted>@store.example/")' "$TMP/apply.json"
check "PWD stays" jq_true '.[0].Config.Env | index("PWD=/srv/plain-pwd")' "$TMP/apply.json"
check "KEYBOARD_LAYOUT stays" jq_true '.[0].Config.Env | index("KEYBOARD_LAYOUT=us-intl-plain")' "$TMP/apply.json"
check "--keyboard's value stays" jq_true '.[0].Config.Cmd | index("dvorak-plain")' "$TMP/apply.json"
check "the pod runs the real values" bash -c "$D exec $POD.db sh -c 'echo \$DB_PASS' | grep -qx EnvDbPass66"
check "no secret in the labels" bash -c "! $D inspect -f '{{json .Config.Labels}}' $POD.db $POD.backup | grep -qE 'EnvDbPass66|CmdLinePw99'"

# --- the docker hook: deploy_stdout goes to Heat ---
deployment() { # ID NAME
        jq -n --arg id "$1" --arg name "$2" --arg config "$(manifest "$2")" --argjson extra "${3:-[]}" '{
                id: $id, name: $name, group: "docker", config: $config, options: {grace_period: 1}, outputs: [],
                inputs: ([
                        {name: "deploy_action", type: "String", value: "CREATE"},
                        {name: "DB_PASS", type: "String", value: "InputDbPass44"},
                        {name: "mysql_root_pw", type: "String", value: "MysqlRootPw55"}
                ] + $extra)}'
}
deployment hook-1 "$PREFIX-hook" | "$PODHOOK" hook >"$TMP/hook.json" 2>"$TMP/hook.err"
check "podhook hook exits 0" [ $? -eq 0 ]
jq -r .deploy_stdout "$TMP/hook.json" >"$TMP/hook-stdout.json"
check "deploy_stdout is the inspect array (2 apps, the infra)" jq_true 'length == 3' "$TMP/hook-stdout.json"
no_secret_in "$TMP/hook.json" "hook result"
check "the inputs' values written into the manifest are redacted" \
        jq_true '.[0].Config.Env | index("FROM_HEAT=<redacted> and <redacted>")' "$TMP/hook-stdout.json"

# --- the agent: the body signalled to Heat ---
python3 "$SRCROOT/tests/agent/signal-server.py" "$TMP/port" "$TMP/requests.log" 0 &
server=$!
wait_for 20 test -s "$TMP/port" || fail "the signal server did not start"
url="http://127.0.0.1:$(cat "$TMP/port")/v1/signal/arn?Signature=S1gnedS3cret"
mkdir -m 700 "$TMP/local"
extra=$(jq -n --arg url "$url" '[{name: "deploy_signal_transport", value: "CFN_SIGNAL"},
                                 {name: "deploy_signal_id", value: $url}, {name: "deploy_signal_verb", value: "POST"}]')
(umask 077 && deployment agent-1 "$PREFIX-agent" "$extra" | jq '{deployments: [.]}' >"$TMP/local/meta.json")
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$TMP/local" >"$TMP/boot.json"
"$PODHOOK" agent --bootstrap "$TMP/boot.json" --state-dir "$TMP/state" --occ-config '' --config '' --one-time \
        >"$TMP/agent.log" 2>&1
check "the agent deployed and signalled (exit 0)" [ $? -eq 0 ]
sed -n 's/^POST [^ ]* //p' "$TMP/requests.log" >"$TMP/body.json"
check "one signal with the inspect array" jq_true '.deploy_stdout | fromjson | length == 3' "$TMP/body.json"
no_secret_in "$TMP/body.json" "signalled body"
no_secret_in "$TMP/agent.log" "agent log"
check "the signed URL is not in the agent's log" bash -c "! grep -q S1gnedS3cret '$TMP/agent.log'"
