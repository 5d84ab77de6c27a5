# vg_lib.sh - helpers for the valgrind legs of the integration tests
# (test_valgrind*.sh), sourced after lib.sh.
#
# They run the plain build named by SEKISHO_VALGRIND_BUILD (set by `make
# test`; valgrind cannot run an ASan build) under memcheck with
# --leak-check=full and --errors-for-leak-kinds=definite,indirect, so that
# an invalid access or a definite or indirect leak makes the program exit
# 99.  Without valgrind or that build the test is skipped (77).

command -v valgrind >/dev/null || skip "valgrind is not installed"
VB=${SEKISHO_VALGRIND_BUILD:-}
[ -n "$VB" ] && [ -x "$VB/sekishod" ] && [ -x "$VB/sekisho" ] ||
	skip "SEKISHO_VALGRIND_BUILD does not name a build without sanitizers (make test sets it)"
if ldd "$VB/sekishod" | grep -q asan; then
	skip "$VB/sekishod is built with ASan; valgrind needs a plain build"
fi
# the helpers of lib.sh (sekisho, start_sekishod) use the plain build too
# shellcheck disable=SC2034 # used by lib.sh
SEKISHOD=$VB/sekishod
# shellcheck disable=SC2034
SEKISHO=$VB/sekisho
VG_N=0

VG="valgrind --quiet --suppressions=$SRC/tests/integration/valgrind.supp --leak-check=full --errors-for-leak-kinds=definite,indirect
	--show-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30"

# vg_fail LOG WHAT: show valgrind's report and fail
vg_fail() {
	sed 's/^/# /' "$1" | head -120
	fail "valgrind: $2"
}

# vg_cli [-i FILE] ARGS...: `sekisho -o state_dir=$T/state ARGS` under
# valgrind (stdin from FILE); its output in $T/cli.out; fails on any
# valgrind error, returns the command's own status otherwise
vg_cli() {
	in=/dev/null
	if [ "$1" = -i ]; then
		in=$2
		shift 2
	fi
	VG_N=$((VG_N + 1))
	# shellcheck disable=SC2086 # VG is a command line
	$VG --log-file="$T/vg-cli-$VG_N.txt" "$VB/sekisho" -o state_dir="$T/state" "$@" \
		<"$in" >"$T/cli.out" 2>"$T/cli.err"
	rc=$?
	if [ $rc -eq 99 ] || [ -s "$T/vg-cli-$VG_N.txt" ]; then
		sed 's/^/# /' "$T/cli.err"
		vg_fail "$T/vg-cli-$VG_N.txt" "sekisho $* (exit $rc)"
	fi
	return $rc
}

# vg_start_sekishod [-o name=value]...: sekishod under valgrind, state in
# $T/state, its output in $T/sekishod.log and valgrind's in $T/vg-daemon.txt
vg_start_sekishod() {
	IN_PORT=${IN_PORT:-$(free_port)}
	OUT_PORT=${OUT_PORT:-$(free_port)}
	# shellcheck disable=SC2086
	$VG --log-file="$T/vg-daemon.txt" "$VB/sekishod" -o state_dir="$T/state" \
		-o myhostname=gw.sekisho.test \
		-o inbound_listen=127.0.0.1:"$IN_PORT" -o outbound_listen=127.0.0.1:"$OUT_PORT" \
		-o queue_scan_interval=1s -o retry_min=1s -o retry_max=2s \
		"$@" >>"$T/sekishod.log" 2>&1 &
	SEKISHOD_PID=$!
	PIDS="$PIDS $SEKISHOD_PID"
	wait_port "$IN_PORT" 120 || fail "sekishod under valgrind did not start"
}

# vg_stop_sekishod: SIGTERM, wait, fail on any valgrind report
vg_stop_sekishod() {
	kill -TERM "$SEKISHOD_PID" 2>/dev/null
	wait "$SEKISHOD_PID"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$T/vg-daemon.txt" ]; then
		vg_fail "$T/vg-daemon.txt" "sekishod reported errors or leaks (exit $rc)"
	fi
	mv "$T/vg-daemon.txt" "$T/vg-daemon.$VG_N.old" 2>/dev/null
	VG_N=$((VG_N + 1))
}
