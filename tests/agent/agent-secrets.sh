#!/bin/bash
# Secrets by value: in `agent --print` (URL user info of auth_url and deploy_auth_url, inputs named
# DB_PASS and mysql_root_pw, env values of DB_PASS, AUTH and PGPASSFILE_CONTENT and a --password=... in
# the command of a docker manifest, as YAML text and as an object) and in the body signalled to Heat for
# a hook that echoes every value it was given. Names that only look alike (PWD, KEYBOARD_LAYOUT) stay.
#   agent-secrets.sh PODHOOK HOOKS_DIR
set -uo pipefail
podhook=$1
hooks=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ph-agent-secrets.XXXXXX")
server=
trap 'kill $server 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
# shellcheck source=tap.sh
. "$here/tap.sh"
export HEAT_CONFIG_HOOKS=$hooks HEAT_SCRIPT_WORKING=$work/w HEAT_SCRIPT_OUTPUTS=$work/o

python3 "$here/signal-server.py" "$work/port" "$work/requests.log" 0 &
server=$!
wait_for 20 test -s "$work/port" || { echo "Bail out! signal server did not start"; exit 1; }
signal="http://127.0.0.1:$(cat "$work/port")/v1/signal/arn?Timestamp=t&SignatureMethod=HmacSHA256&Signature=S1gnedS3cret"

# Every secret value below, one per line: none may show.
secrets="OccPassword11
AuthUrlPw22
DeployAuthPw33
InputDbPass44
MysqlRootPw55
EnvDbPass66
EnvAuth77
PgPassContent88
CmdLinePw99
ObjDbPass10
S1gnedS3cret"
manifest_yaml='version: v1beta2
containers:
  - name: db
    image: podhook.local/busybox:1
    command: [mysqld, --password=CmdLinePw99, --port, "3306"]
    env:
      - {name: DB_PASS, value: EnvDbPass66}
      - {name: AUTH, value: EnvAuth77}
      - {name: PGPASSFILE_CONTENT, value: "db:5432:app:u:PgPassContent88"}
      - {name: PWD, value: /srv/plain-pwd}
      - {name: KEYBOARD_LAYOUT, value: us-intl-plain}'
inputs='[{"name": "DB_PASS", "type": "String", "value": "InputDbPass44"},
         {"name": "mysql_root_pw", "type": "String", "value": "MysqlRootPw55"},
         {"name": "deploy_auth_url", "type": "String", "value": "http://heat-user:DeployAuthPw33@keystone.example:5000/v3"},
         {"name": "deploy_action", "type": "String", "value": "CREATE"}]'
mkdir -m 700 "$work/d"
python3 - "$work/d/meta.json" "$manifest_yaml" "$inputs" <<'PY'
import json, sys
path, manifest, inputs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
obj = {"version": "v1beta2", "containers": [{"name": "x", "image": "b",
       "env": [{"name": "DB_PASS", "value": "ObjDbPass10"}]}]}
meta = {
    "os-collect-config": {"heat": {"auth_url": "http://admin:AuthUrlPw22@keystone.example:5000/v3",
                                   "password": "OccPassword11", "user_id": "plain-user-id"}},
    "deployments": [
        {"id": "yaml-1", "name": "y", "group": "docker", "config": manifest, "inputs": inputs, "outputs": []},
        {"id": "obj-1", "name": "o", "group": "docker", "config": obj, "inputs": [], "outputs": []},
    ],
}
with open(path, "w") as f:
    json.dump(meta, f)
PY
chmod 600 "$work/d/meta.json"
printf '{"collectors": ["local"], "local": {"path": ["%s"]}}\n' "$work/d" >"$work/boot.json"
a=(--bootstrap "$work/boot.json" --occ-config '' --config '')

out=$("$podhook" agent "${a[@]}" --state-dir "$work/s0" --print 2>"$work/print.err")
check "--print exits 0" test $? = 0
printf '%s\n' "$out" >"$work/print.out"
while read -r s; do
        check "--print: $s is not shown" bash -c "! grep -q '$s' '$work/print.out' '$work/print.err'"
done <<<"$secrets"
check "--print: auth_url keeps its host, loses its password" grep -q 'http://admin:<redacted>@keystone.example:5000/v3' "$work/print.out"
check "--print: deploy_auth_url the same" grep -q 'http://heat-user:<redacted>@keystone.example:5000/v3' "$work/print.out"
check "--print: PWD is not a secret" grep -q '/srv/plain-pwd' "$work/print.out"
check "--print: KEYBOARD_LAYOUT is not a secret" grep -q 'us-intl-plain' "$work/print.out"
check "--print: nor is user_id" grep -q 'plain-user-id' "$work/print.out"
check "--print: the manifest text still shows its structure" grep -q -- '--password=<redacted>' "$work/print.out"
check "--print --show-secrets shows them" bash -c "'$podhook' agent ${a[*]} --state-dir '$work/s0' --print --show-secrets 2>/dev/null | grep -q EnvDbPass66"

# The signalled body: a script that prints everything it was given, in its output and its error text.
python3 - "$work/d/meta.json" "$inputs" "$signal" <<'PY'
import json, sys
path, inputs, signal = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
inputs += [{"name": "deploy_signal_transport", "type": "String", "value": "CFN_SIGNAL"},
           {"name": "deploy_signal_id", "type": "String", "value": signal},
           {"name": "deploy_signal_verb", "type": "String", "value": "POST"}]
script = ('#!/bin/sh\n'
          'echo "db=$DB_PASS root=$mysql_root_pw auth=$deploy_auth_url signal=$deploy_signal_id"\n'
          'echo "quoted: \\"$DB_PASS\\" \\\\$mysql_root_pw" >&2\n')
meta = {"deployments": [{"id": "echo-1", "name": "echo", "group": "script", "config": script,
                         "inputs": inputs, "outputs": []}]}
with open(path, "w") as f:
    json.dump(meta, f)
PY
"$podhook" agent "${a[@]}" --state-dir "$work/s1" --one-time >"$work/run.log" 2>&1
check "the deployment ran and was signalled (exit 0)" test $? = 0
check "one signal arrived" test "$(grep -c '^POST /v1/signal/arn?' "$work/requests.log")" = 1
body=$(sed -n 's/^POST [^ ]* //p' "$work/requests.log")
printf '%s\n' "$body" >"$work/body"
check "the body is the hook's result" grep -q '"deploy_stdout": *"db=<redacted> root=<redacted> auth=http://heat-user:<redacted>@keystone.example:5000/v3 signal=<redacted>' "$work/body"
check "even where the hook quoted and escaped them" grep -q 'quoted: \\"<redacted>\\" \\\\<redacted>' "$work/body"
while read -r s; do
        [ "$s" = OccPassword11 ] || [ "$s" = AuthUrlPw22 ] || [ "$s" = CmdLinePw99 ] || [ "$s" = ObjDbPass10 ] ||
                [ "$s" = EnvAuth77 ] || [ "$s" = PgPassContent88 ] && continue
        check "signalled body: $s is not in it" bash -c "! grep -q '$s' '$work/body'"
        check "agent log: $s is not in it" bash -c "! grep -q '$s' '$work/run.log'"
done <<<"$secrets"
check "the stored result exists" bash -c "ls '$work/s1/results'/*.json >/dev/null"
check "the stored result keeps none either" bash -c "! grep -rqE 'InputDbPass44|MysqlRootPw55|DeployAuthPw33' '$work/s1/results'/*.json"
tap_done
