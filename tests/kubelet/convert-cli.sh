#!/bin/bash
# 'podhook convert' on the command line: output forms, the pod name, exit codes and messages. TAP.
set -uo pipefail
PODHOOK=${1:?usage: $0 PODHOOK SRCROOT}
SRCROOT=${2:?usage: $0 PODHOOK SRCROOT}
source "$SRCROOT/tests/agent/tap.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SEED=$SRCROOT/manifests-examples/apache-redis.yaml

"$PODHOOK" --help >"$TMP/help"
check "podhook --help lists convert" grep -q '^  convert ' "$TMP/help"
"$PODHOOK" convert --help >"$TMP/chelp"
check "convert --help exits 0 with its usage" grep -q '^Usage: podhook convert \[--name POD\] \[--json\] FILE' "$TMP/chelp"

"$PODHOOK" convert "$SEED" >"$TMP/seed.yaml" 2>"$TMP/seed.err"
check "YAML by default, exit 0" [ $? -eq 0 ]
check "the YAML is a v1 Pod" bash -c "head -2 '$TMP/seed.yaml' | tr '\n' ' ' | grep -qx 'apiVersion: v1 kind: Pod '"
check "a valid example gives no warning" [ ! -s "$TMP/seed.err" ]
"$PODHOOK" convert --json "$SEED" >"$TMP/seed.json"
check "--json prints the Pod as JSON" jq -e '.kind == "Pod" and .apiVersion == "v1"' "$TMP/seed.json"
check "the pod is named after the file" jq -e '.metadata.name == "apache-redis" and
        .metadata.annotations["io.podhook/pod"] == "apache-redis"' "$TMP/seed.json"
"$PODHOOK" convert --json --name Shop_1 "$SEED" >"$TMP/named.json"
check "--name names the pod (mapped for v1, kept in the annotation)" jq -e '.metadata.name == "shop-1" and
        .metadata.annotations["io.podhook/pod"] == "Shop_1" and .metadata.labels["io.podhook/pod"] == "Shop_1"' \
        "$TMP/named.json"
printf 'version: v1beta2\nid: from_id\ncontainers: [{name: a, image: b}]\n' >"$TMP/with-id.yaml"
"$PODHOOK" convert --json - <"$TMP/with-id.yaml" >"$TMP/id.json"
check "the manifest id names the pod, also from standard input" jq -e '.metadata.name == "from-id"' "$TMP/id.json"
printf 'version: v1beta2\ncontainers: [{name: a, image: b}]\n' | "$PODHOOK" convert - >/dev/null 2>"$TMP/stdin.err"
check "standard input without an id needs --name (exit 2)" [ $? -eq 2 ]
check "... and says so" grep -q 'give --name POD' "$TMP/stdin.err"

printf 'version: v1beta2\ncontainers: [{name: a}]\n' >"$TMP/invalid.yaml"
"$PODHOOK" convert "$TMP/invalid.yaml" >"$TMP/out" 2>"$TMP/err"
check "an invalid manifest exits 65" [ $? -eq 65 ]
check "... with the validator's message" grep -qF "$TMP/invalid.yaml:2: containers[0].image: is required" "$TMP/err"
check "... and prints no Pod" [ ! -s "$TMP/out" ]

cat >"$TMP/clash.yaml" <<'YAML'
version: v1beta2
containers:
  - {name: Web, image: a, ports: [{name: "80", containerPort: 80}]}
  - {name: web, image: a}
YAML
"$PODHOOK" convert "$TMP/clash.yaml" >"$TMP/out" 2>"$TMP/err"
check "a manifest v1 cannot express exits 65" [ $? -eq 65 ]
check "... naming every field, one per line" diff -u - "$TMP/err" <<EOF2
$TMP/clash.yaml: containers[0].ports[0].name: "80" is not a v1 port name (at most 15 lower-case letters, digits and '-', at least one letter, no "--" and no '-' at either end)
$TMP/clash.yaml: containers[1].name: "web" is also the v1 name of containers[0].name
EOF2
check "... and prints no Pod" [ ! -s "$TMP/out" ]

"$PODHOOK" convert "$TMP/missing.yaml" >/dev/null 2>"$TMP/err"
check "an unreadable file exits 66" [ $? -eq 66 ]
"$PODHOOK" convert >/dev/null 2>&1
check "no FILE is a usage error (2)" [ $? -eq 2 ]
"$PODHOOK" convert --name 'bad name' "$SEED" >/dev/null 2>&1
check "a --name Docker would refuse is a usage error (2)" [ $? -eq 2 ]
"$PODHOOK" convert --grace 5 "$SEED" >/dev/null 2>&1
check "apply's options are not convert's (2)" [ $? -eq 2 ]
tap_done
