# TAP helpers for the agent's script tests (sourced).
n=0
fails=0
# check DESCRIPTION COMMAND...: one TAP line for the command's status.
check() {
        n=$((n + 1))
        if "${@:2}"; then echo "ok $n - $1"; else fails=$((fails + 1)); echo "not ok $n - $1"; fi
}
# wait_for SECONDS COMMAND...: until the command succeeds, at most SECONDS.
wait_for() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@"; do
                [ $SECONDS -ge $deadline ] && return 1
                sleep 0.2
        done
}
# tap_done: the plan, and the exit status.
tap_done() {
        echo "1..$n"
        [ "$fails" = 0 ]
}
