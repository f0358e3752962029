#!/bin/bash
# Hundreds of update and rollback cycles on one pod (issue 12, faults): `podhook apply` alternates two
# manifests (main's env and side's command change) and, every third time, one whose side exits at once
# (the update fails and is rolled back). The hostDir and emptyDir data are checksummed before and
# after every cycle: they never change. At the end: one container per name, no journal, the volume
# the pod started with.
#   update-cycles.sh PODHOOK SRC_DIR [CYCLES]
podhook=$1
src=$2
cycles=${3:-100}
. "$(dirname "$0")/lib.sh"
need_engine
pfx=phproof-cyc-$$
pod=$pfx-web
images
export PODHOOK_STATE_DIR=$work/state
mkdir -p "$work/host"
head -c 1048576 /dev/urandom >"$work/host/blob"
manifest() { two_containers "$1" "$2" "$work/host" "$pod"; }
manifest a 3600 >"$work/a.yaml"
manifest b 3601 >"$work/b.yaml"
manifest c not-a-number >"$work/bad.yaml" # side exits at once: the update fails, the pod is rolled back
# The failing one with a start window of 1 s: side exits at once, which a window of 0 (only "it runs
# right after its start") sees only now and then.
apply() { "$podhook" apply --start-window "${2:-0}" "$1" >/dev/null 2>>"$work/apply.log"; }
apply "$work/a.yaml"
check "the pod is deployed" test $? = 0
docker exec "$pod.main" sh -c 'head -c 1048576 /dev/urandom > /shared/blob'
sums0=$(sums "$pod")
host0=$(md5sum <"$work/host/blob")
vol0=$(docker volume ls -q --filter "label=io.podhook.pod=$pod")
check "the data is there" test "$(echo "$sums0" | wc -w)" = 2

bad_rc= bad_sum= bad_names= version= t0=$SECONDS
for ((i = 1; i <= cycles; i++)); do
        case $((i % 3)) in
        0) f=bad want=1 window=1 ;;
        1) f=b want=0 window=0 version=b ;;
        2) f=a want=0 window=0 version=a ;;
        esac
        apply "$work/$f.yaml" "$window"
        rc=$?
        [ $rc = $want ] || bad_rc="$bad_rc $i:$f:$rc"
        [ "$(sums "$pod")" = "$sums0" ] || bad_sum="$bad_sum $i:$f"
        [ "$(names "$pod")" = "$pod._infra $pod.main $pod.side " ] || bad_names="$bad_names $i:$f"
done
echo "# $cycles cycles in $((SECONDS - t0)) s"
check "every update succeeded and every failing one failed (rolled back)${bad_rc:+: not$bad_rc}" test -z "$bad_rc"
check "the hostDir and emptyDir data never changed${bad_sum:+: changed at$bad_sum}" test -z "$bad_sum"
check "one container per name after every cycle${bad_names:+: not at$bad_names}" test -z "$bad_names"
check "the host file itself is unchanged" test "$(md5sum <"$work/host/blob")" = "$host0"
check "the pod still has the volume it started with" test "$(docker volume ls -q --filter "label=io.podhook.pod=$pod")" = "$vol0"
check "the rollbacks left the last good version running" test "$(env_of "$pod" main VERSION)" = "$version"
check "all running" test "$(running_count "$pod")" = 3
check "no journal left" bash -c "! compgen -G '$work/state/pods/*.journal.json' >/dev/null"
check "the failures were rolled back, said so" test "$(grep -c 'rolled back' "$work/apply.log")" -ge $((cycles / 3))
tap_done
