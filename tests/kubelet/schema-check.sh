#!/bin/bash
# Every Pod that 'podhook convert' makes from the example and test manifests, checked against the real
# Kubernetes schema (validate-pod.js: the kubernetes-models package's validator), and the check itself
# shown to refuse wrong Pods. TAP.
#   schema-check.sh pods PODHOOK SRCROOT       every valid manifest converts; the Pods are schema-valid,
#                                              carry podhook's labels and annotations, and the YAML says
#                                              the same as the JSON
#   schema-check.sh negative PODHOOK SRCROOT   each Pod of bad-pods/ is refused, at the expected field
set -uo pipefail
MODE=${1:?usage: $0 pods|negative PODHOOK SRCROOT}
PODHOOK=${2:?usage: $0 pods|negative PODHOOK SRCROOT}
SRCROOT=${3:?usage: $0 pods|negative PODHOOK SRCROOT}
HERE=$SRCROOT/tests/kubelet
source "$SRCROOT/tests/agent/tap.sh"
source "$HERE/needs.sh"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# jq_true FILTER FILE: the filter yields true.
jq_true() { jq -e "$1" "$2" >/dev/null; }
# has FILE TEXT: FILE has a line that starts with TEXT.
has() { grep -qF -- "$2" "$1" && awk -v t="$2" 'index($0, t) == 1 { f = 1 } END { exit !f }' "$1"; }

if [ "$MODE" = negative ]; then
        # file|the start of a line the validator must print for it
        expect=(
                "container-port-string.json|/spec/containers/0/ports/0/containerPort: schema: must be integer"
                "restart-policy-lower.json|/spec/restartPolicy: schema: must be equal to one of the allowed values"
                "v1beta2-fields.json|/spec/containers/0/imagePullPolicy: schema: must be equal to one of the allowed values"
                "v1beta2-fields.json|/spec/containers/0/ports/0/protocol: schema: must be equal to one of the allowed values"
                "v1beta2-fields.json|/spec/containers/0/resources/limits/memory: schema: must match format \"quantity\""
                "v1beta2-fields.json|/spec/volumes/0/hostPath/type: schema: must be equal to one of the allowed values"
                "unmapped-names.json|/metadata/name: kubelet:"
                "unmapped-names.json|/metadata/labels/io.podhook/spec-hash: kubelet:"
                "unmapped-names.json|/spec/containers/0/name: kubelet:"
                "unmapped-names.json|/spec/containers/0/ports/0/name: kubelet:"
                "unmapped-names.json|/spec/volumes/0/name: kubelet:"
        )
        for f in "$HERE"/bad-pods/*.json; do
                b=$(basename "$f")
                node "$HERE/validate-pod.js" "$f" >"$TMP/$b.out" 2>&1
                check "$b is refused (exit 1)" [ $? -eq 1 ]
        done
        for e in "${expect[@]}"; do
                b=${e%%|*}
                check "$b: ${e#*|}" has "$TMP/$b.out" "$HERE/bad-pods/$b[#0]: ${e#*|}"
        done
        # And the same check passes a good Pod: it is the Pods, not the checker, that fail above.
        "$PODHOOK" convert --json "$SRCROOT/manifests-examples/apache-redis.yaml" >"$TMP/good.json" 2>/dev/null
        check "a converted Pod passes the same check" bash -c 'node "$0" "$1" >/dev/null' "$HERE/validate-pod.js" "$TMP/good.json"
        tap_done
        exit
fi

# The manifests: examples (all must convert), the kubelet tests' own, and every other test manifest
# that is valid.
must=("$SRCROOT"/manifests-examples/*.yaml "$SRCROOT"/manifests-examples/*.json "$HERE"/manifests/*)
maybe=("$SRCROOT"/tests/fuzz/corpus/manifest/*)
files=()
for f in "${must[@]}"; do files+=("$f"); done
for f in "${maybe[@]}"; do
        "$PODHOOK" validate "$f" >/dev/null 2>&1 && files+=("$f")
done
check "there are manifests to check (${#files[@]})" [ ${#files[@]} -ge 8 ]

pods=()
i=0
for f in "${files[@]}"; do
        i=$((i + 1))
        rel=${f#"$SRCROOT"/}
        out=$TMP/$i.json
        "$PODHOOK" convert --json "$f" >"$out" 2>"$TMP/$i.err"
        rc=$?
        check "$rel converts" [ $rc -eq 0 ]
        if [ $rc -ne 0 ]; then
                sed 's/^/# /' "$TMP/$i.err"
                continue
        fi
        pods+=("$out")
        check "$rel: labels io.podhook/managed, pod, spec-hash" jq_true '.metadata.labels as $l |
                $l["io.podhook/managed"] == "true" and ($l["io.podhook/pod"] | type) == "string" and
                ($l["io.podhook/spec-hash"] | test("^sha256-[0-9a-f]{56}$"))' "$out"
        check "$rel: annotations io.podhook/pod and spec-hash match the labels" jq_true '.metadata as $m |
                $m.annotations["io.podhook/spec-hash"] == $m.labels["io.podhook/spec-hash"] and
                ($m.annotations["io.podhook/pod"] | type) == "string"' "$out"
        # Every v1 name is in io.podhook/original-names, and maps back to a name of the manifest.
        check "$rel: io.podhook/original-names covers every container, volume and named port" jq_true '
                (.metadata.annotations["io.podhook/original-names"] | fromjson) as $o |
                ([.spec.containers[].name] | sort) == ($o.containers | keys) and
                ([(.spec.volumes // [])[].name] | sort) == ($o.volumes | keys) and
                all(.spec.containers[]; . as $c | [($c.ports // [])[] | .name // empty] | sort ==
                        (($o.ports[$c.name] // {}) | keys)) and
                all($o.containers, $o.volumes, ($o.ports[]) | to_entries[];
                        .key == (.value | ascii_downcase | gsub("_"; "-")))' "$out"
        # The YAML a kubelet would read says exactly what the JSON says.
        "$PODHOOK" convert "$f" >"$TMP/$i.yaml" 2>/dev/null
        check "$rel: the YAML reads back as the JSON (YAML 1.1)" "$PY" -c '
import json, sys, yaml
with open(sys.argv[1]) as y, open(sys.argv[2]) as j:
    sys.exit(0 if yaml.safe_load(y) == json.load(j) else 1)' "$TMP/$i.yaml" "$out"
done

node "$HERE/validate-pod.js" "${pods[@]}" >"$TMP/schema.out" 2>&1
check "every Pod is valid against the kubernetes-models v1 Pod schema (${#pods[@]} Pods)" [ $? -eq 0 ]
sed 's/^/# /' "$TMP/schema.out"
# The seed's own names, which a kubelet refuses, are mapped and kept.
"$PODHOOK" convert --json "$SRCROOT/manifests-examples/apache-redis.yaml" >"$TMP/seed.json" 2>/dev/null
check "seed example: apache_container, http_port and test_volume are mapped and kept" jq_true '
        (.metadata.annotations["io.podhook/original-names"] | fromjson) as $o |
        $o.containers["apache-container"] == "apache_container" and
        $o.ports["apache-container"]["http-port"] == "http_port" and $o.volumes["test-volume"] == "test_volume" and
        .spec.containers[0].name == "apache-container" and .spec.containers[0].ports[0].name == "http-port" and
        .spec.volumes[0].name == "test-volume" and .spec.containers[0].volumeMounts[0].name == "test-volume"' \
        "$TMP/seed.json"
tap_done
