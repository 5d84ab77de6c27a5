#!/bin/sh
# bench/scan.sh BUILD_DIR - message-analysis throughput: `sekisho scan` beside
# a private Rspamd (rspamc) and a private SpamAssassin (spamd/spamc).
#
# All three legs analyse the same files: the fixed 2,000-message sample
# splits/spamassassin-sample2000.tsv of ../shared/corpus, linked into one
# temporary directory.  Network checks are off everywhere:
#   sekisho      -o network_checks=no -o state_dir=<tmp> scan <dir>
#                (one process, one thread per online CPU)
#   rspamd       private instance on free loopback ports, stock rules with the
#                network modules disabled and DNS pointed at 127.0.0.1:1;
#                fed by `rspamc -n PARALLEL` with every file on its command line
#   spamassassin private spamd -L (local tests only) with PARALLEL children,
#                fed by PARALLEL spamc processes at a time (xargs -P)
# Each leg is timed from the start of its client (sekisho itself, rspamc,
# xargs+spamc) until the last answer; the daemons' start-up (rules compiled,
# hyperscan databases loaded, children forked) is not counted.
#
# Prints messages per second for each, the ratios, and memory: sekisho's peak
# RSS (ru_maxrss from wait4, what /usr/bin/time -v prints); for the daemons,
# read just before they are stopped, the sum of VmHWM (each process's peak,
# shared pages counted once per process: an upper bound) and the sum of Pss
# (proportional set size at the end, shared pages split: a fair "now").  This
# is a benchmark, not a test: `make bench` runs it; it exits non-zero only
# when a leg failed (start-up, timeout, crash, or not every message answered).
#
# Environment:
#   BENCH_PARALLEL (number of CPUs) concurrent requests for the peers; sekisho
#                  always uses one thread per online CPU
#   BENCH_TIMEOUT (600 s per leg; also the wait for a daemon to start)
#   BENCH_ONLY    (comma list of sekisho, rspamd, spamassassin)
#   BENCH_CORPUS  (../shared/corpus beside the project)
#   BENCH_SAMPLE  (BENCH_CORPUS/splits/spamassassin-sample2000.tsv)
#   BENCH_DIR     (/tmp; where the temporary directory goes)
#   BENCH_SEKISHO_OPTS ("-o name=value ..." added to sekisho's command line)
#   BENCH_KEEP=1  keeps the temporary directory (outputs, logs, configs)
set -u

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/scripts/net.sh"
BUILD=${1:-build}
SEKISHO=$BUILD/sekisho
CORPUS=${BENCH_CORPUS:-$(cd "$SRC/.." && pwd)/shared/corpus}
SAMPLE=${BENCH_SAMPLE:-$CORPUS/splits/spamassassin-sample2000.tsv}
NCPU=$(nproc 2>/dev/null || echo 2)
PAR=${BENCH_PARALLEL:-$NCPU}
TIMEOUT=${BENCH_TIMEOUT:-600}
ONLY=${BENCH_ONLY:-sekisho,rspamd,spamassassin}

die() {
	echo "bench: $*" >&2
	exit 1
}

want() {
	case ",$ONLY," in *",$1,"*) return 0 ;; esac
	return 1
}

command -v python3 >/dev/null || die "python3 is missing (used to pick free ports and to time the legs)"
[ -f "$SAMPLE" ] || die "the sample $SAMPLE is missing (BENCH_CORPUS, BENCH_SAMPLE)"
case $PAR in '' | *[!0-9]* | 0) die "BENCH_PARALLEL must be a positive number" ;; esac

B=$(mktemp -d "${BENCH_DIR:-/tmp}/sekisho-scan-bench.XXXXXX") || die "cannot make a temporary directory"
PIDS=""        # background programs started here (runners, daemons)
RS_PID=""      # rspamd main process
SA_PID=""      # spamd parent

# stop_tree PID: TERM a daemon and the children it has now, wait a little,
# then KILL whatever is left of them.  Only processes this script started.
stop_tree() {
	[ -n "$1" ] || return 0
	kids=$(ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ')
	kill -TERM "$1" 2>/dev/null
	i=0
	while [ $i -lt 50 ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	for p in "$1" $kids; do
		kill -KILL "$p" 2>/dev/null
	done
	wait "$1" 2>/dev/null
	return 0
}

# shellcheck disable=SC2317 # called by the trap
cleanup() {
	stop_tree "$RS_PID"
	stop_tree "$SA_PID"
	# shellcheck disable=SC2086 # a list of pids
	stop_pids $PIDS
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "# kept $B"
	else
		rm -rf "$B"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The timer: runs a command in its own process group with stdout and stderr
# to files, kills the group after LIMIT seconds (or when this script is
# stopped), and prints "wall_ms maxrss_kb cpu_s status": wall time, the
# largest ru_maxrss among the command and the descendants it waited for,
# their user+system CPU, and the exit status (124 for a timeout, 128+N for
# signal N).
cat >"$B/timer.py" <<'EOF'
import os, resource, signal, subprocess, sys, time
limit, out, err, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
with open(out, "wb") as o, open(err, "wb") as e:
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=o, stderr=e, stdin=subprocess.DEVNULL, start_new_session=True)
    def stop(*_):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        sys.exit(143)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        rc = p.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        rc = 124
    ms = (time.monotonic() - t0) * 1000
    try:
        os.killpg(p.pid, signal.SIGKILL)  # stragglers of a finished command
    except ProcessLookupError:
        pass
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
if rc < 0:
    rc = 128 - rc
print("%d %d %.2f %d" % (ms, ru.ru_maxrss, ru.ru_utime + ru.ru_stime, rc))
EOF

# timed LIMIT OUT ERR CMD...: run CMD under the timer in the background (so
# that a signal to this script is handled at once) and set WALL_MS, MAXRSS,
# CPU, STATUS.
timed() {
	python3 "$B/timer.py" "$@" >"$B/timer.out" 2>"$B/timer.err" &
	tp=$!
	PIDS="$PIDS $tp"
	wait "$tp"
	read -r WALL_MS MAXRSS CPU STATUS <"$B/timer.out" || {
		WALL_MS=0 MAXRSS=0 CPU=0 STATUS=125
		echo "bench: the timer failed: $(cat "$B/timer.err")" >&2
	}
}

rate() {
	awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", (ms > 0 ? n * 1000 / ms : 0) }'
}

secs() {
	awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'
}

mb() {
	awk -v kb="${1:-0}" 'BEGIN { printf "%.1f", kb / 1024 }'
}

# tree PID: the process and its children now.
tree() {
	echo "$1"
	ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}

# cpu_ticks PID...: user+system CPU, in clock ticks, of the processes that
# are alive plus the children they have reaped (spamd recycles its children).
# Taken before and after a run, the difference is what the run cost.
cpu_ticks() {
	t=0
	for p in "$@"; do
		c=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat" 2>/dev/null)
		t=$((t + ${c:-0}))
	done
	echo "$t"
}

ticks_s() {
	awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# mem_of PID...: "N processes: VmHWM sum X MB, Pss sum Y MB" over the given
# processes that are still alive.
mem_of() {
	n=0 hwm=0 pss=0
	for p in "$@"; do
		h=$(awk '/^VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$h" ] || continue
		s=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		n=$((n + 1))
		hwm=$((hwm + h))
		pss=$((pss + ${s:-0}))
	done
	printf '%s processes: VmHWM sum %s MB, Pss sum %s MB' "$n" "$(mb "$hwm")" "$(mb "$pss")"
}

# per_msg CPU_S N: CPU milliseconds per message
per_msg() {
	awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f", (n > 0 ? c * 1000 / n : 0) }'
}

# --- the messages ------------------------------------------------------------
# One symlink per line of the sample, numbered in its order, so that every
# program reads exactly that set (sekisho scans the directory).
mkdir "$B/msgs"
# sample.tsv: link name (number-basename, blanks made safe), label, target
awk -F'\t' -v c="$CORPUS" 'NF >= 2 {
	name = $2; sub(/.*\//, "", name); gsub(/[^A-Za-z0-9._-]/, "_", name)
	printf "%04d-%s\t%s\t%s\n", NR, name, $1, c "/" $2 }' "$SAMPLE" >"$B/sample.tsv"
MISSING=0
while IFS='	' read -r name _label path; do
	[ -f "$path" ] || {
		MISSING=$((MISSING + 1))
		continue
	}
	ln -s "$path" "$B/msgs/$name"
done <"$B/sample.tsv"
[ "$MISSING" = 0 ] || die "$MISSING files of $SAMPLE are missing under $CORPUS"
cut -f1 "$B/sample.tsv" | sed "s|^|$B/msgs/|" >"$B/files"
N=$(wc -l <"$B/files")
[ "$N" -gt 0 ] || die "the sample $SAMPLE is empty"
NHAM=$(awk -F'\t' '$2 == "ham"' "$B/sample.tsv" | wc -l)
NSPAM=$(awk -F'\t' '$2 == "spam"' "$B/sample.tsv" | wc -l)
# Read every file once so that no leg pays for the cold page cache.
xargs -d '\n' cat <"$B/files" >/dev/null

echo "# scan benchmark: $N messages ($NHAM ham, $NSPAM spam) from ${SAMPLE#"$CORPUS"/}, network checks off"
echo "# parallelism: $PAR concurrent requests for rspamd and spamd; sekisho scan runs $NCPU threads (one per CPU)"
echo "# host: $NCPU CPUs, $(awk '/MemTotal/ { printf "%d MB", $2 / 1024 }' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg)"

FAILED=0
SEK_RATE=""
RS_RATE=""
SA_RATE=""

# --- sekisho -----------------------------------------------------------------
if want sekisho; then
	[ -x "$SEKISHO" ] || die "$SEKISHO is missing: build first (make build)"
	mkdir "$B/sekisho"
	# shellcheck disable=SC2086 # BENCH_SEKISHO_OPTS is a list of words
	timed "$TIMEOUT" "$B/sekisho.out" "$B/sekisho.err" \
		"$SEKISHO" -o network_checks=no -o state_dir="$B/sekisho" ${BENCH_SEKISHO_OPTS:-} scan "$B/msgs"
	# "-- 2000 messages: 2000 deliver, 0 tag, 0 hold, 0 quarantine, 0 reject, 0 unreadable"
	TOTALS=$(sed -n 's/^-- \([0-9]*\) messages: //p' "$B/sekisho.out" | tail -n 1)
	DONE=$(sed -n 's/^-- \([0-9]*\) messages: .*/\1/p' "$B/sekisho.out" | tail -n 1)
	DONE=${DONE:-0}
	case $STATUS in
	0 | 3 | 4 | 5 | 6) ;;
	124)
		FAILED=1
		echo "bench: sekisho scan did not finish in $TIMEOUT s" >&2
		;;
	*)
		FAILED=1
		echo "bench: sekisho scan exited with status $STATUS: $(tail -n 3 "$B/sekisho.err")" >&2
		;;
	esac
	# The answered messages: every file with a result line, not counting
	# unreadable ones.
	UNREAD=$(echo "$TOTALS" | sed -n 's/.* \([0-9]*\) unreadable.*/\1/p')
	DONE=$((DONE - ${UNREAD:-0}))
	[ "$DONE" -ge "$N" ] || {
		FAILED=1
		echo "bench: sekisho scanned $DONE of $N messages" >&2
	}
	SEK_RATE=$(rate "$DONE" "$WALL_MS")
	SEK_CPU=$(per_msg "$CPU" "$DONE")
	printf 'sekisho      : %6s msg/s  (%s of %s in %s s; CPU %s s = %s ms/msg; peak RSS %s MB, one process; %s)\n' \
		"$SEK_RATE" "$DONE" "$N" "$(secs "$WALL_MS")" "$CPU" "$SEK_CPU" "$(mb "$MAXRSS")" "${TOTALS:-no totals line}"
fi

# --- Rspamd --------------------------------------------------------------------
# A private instance: /etc/rspamd copied, its own top-level rspamd.conf with
# only a normal worker (PAR processes) and a controller on free loopback
# ports (no proxy, no fuzzy storage), its own db/run/log directories.  Stock
# rules and scores; the modules that ask the network are disabled and DNS
# goes to a closed port, so that nothing leaves the host; every task's "dns
# req" count is checked in the log.  Bayes has no Redis and stays off
# (nothing is trained in any leg).
if want rspamd; then
	if ! command -v rspamd >/dev/null || ! command -v rspamc >/dev/null; then
		echo "rspamd       : skipped (rspamd/rspamc are not installed: BENCH=1 sh scripts/install-deps.sh)"
	else
		R=$B/rspamd
		mkdir -p "$R/db" "$R/run" "$R/log"
		cp -R /etc/rspamd "$R/etc"
		RS_PORT=$(free_port)
		RS_CTL=$(free_port)
		cat >"$R/etc/rspamd.conf" <<EOF
# bench/scan.sh: /etc/rspamd/rspamd.conf with the workers on free loopback ports
.include "\$CONFDIR/common.conf"
options {
    pidfile = "\$RUNDIR/rspamd.pid";
    .include "\$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
}
logging {
    type = "file";
    filename = "\$LOGDIR/rspamd.log";
    .include "\$CONFDIR/logging.inc"
}
worker "normal" {
    bind_socket = "127.0.0.1:$RS_PORT";
    .include "\$CONFDIR/worker-normal.inc"
    count = $PAR;
}
worker "controller" {
    bind_socket = "127.0.0.1:$RS_CTL";
    .include "\$CONFDIR/worker-controller.inc"
}
EOF
		cat >"$R/etc/local.d/options.inc" <<'EOF'
dns {
    nameserver = ["127.0.0.1:1"];
}
EOF
		# Modules that query DNS, Redis or remote services.
		for m in rbl surbl spf dkim dmarc arc fuzzy_check emails asn hfilter once_received \
			mx_check url_redirector neural ratelimit replies reputation greylist bimi \
			history_redis dcc p0f rspamd_update url_reputation external_services antivirus \
			metadata_exporter clickhouse elastic; do
			echo 'enabled = false;' >"$R/etc/local.d/$m.conf"
		done
		# phishing keeps its local checks (link text against target), not the
		# PhishTank DNS lookups.
		echo 'phishtank_enabled = false;' >"$R/etc/local.d/phishing.conf"
		RS_USER=""
		if [ "$(id -u)" = 0 ]; then
			RS_USER=_rspamd
			id "$RS_USER" >/dev/null 2>&1 || RS_USER=nobody
			chown -R "$RS_USER" "$R/db" "$R/run" "$R/log"
			chmod 711 "$B"
		fi
		# shellcheck disable=SC2046 # -u/-g only as root
		rspamd -f $([ -n "$RS_USER" ] && echo "-u $RS_USER -g $(id -gn "$RS_USER")") \
			-c "$R/etc/rspamd.conf" --var CONFDIR="$R/etc" --var LOCAL_CONFDIR="$R/etc" \
			--var DBDIR="$R/db" --var RUNDIR="$R/run" --var LOGDIR="$R/log" \
			>"$R/rspamd.out" 2>&1 &
		RS_PID=$!
		RS_OK=0
		i=0
		while [ $i -lt "$TIMEOUT" ] && kill -0 "$RS_PID" 2>/dev/null; do
			if wait_port "$RS_PORT" 1; then
				RS_OK=1
				break
			fi
			i=$((i + 1))
		done
		if [ "$RS_OK" = 0 ]; then
			FAILED=1
			echo "rspamd       : failed to start: $(tail -n 5 "$R/rspamd.out" "$R/log/rspamd.log" 2>/dev/null)"
		fi
		# Wait until every normal worker has loaded the hyperscan database
		# that the hs_helper compiles after start-up (regexps run on PCRE
		# until then); give up after 120 s and say so.
		RS_HS="hyperscan loaded"
		if [ "$RS_OK" = 1 ]; then
			i=0
			while [ "$(grep -c '(normal).*full hyperscan database .* has been loaded' "$R/log/rspamd.log" 2>/dev/null)" -lt "$PAR" ]; do
				i=$((i + 1))
				if [ $i -gt 1200 ] || ! kill -0 "$RS_PID" 2>/dev/null; then
					RS_HS="hyperscan NOT loaded: regexps on PCRE"
					break
				fi
				sleep 0.1
			done
		fi
		if [ "$RS_OK" = 1 ] && kill -0 "$RS_PID" 2>/dev/null; then
			RS_LOG0=$(wc -l <"$R/log/rspamd.log")
			# shellcheck disable=SC2046 # a list of PIDs
			T0=$(cpu_ticks $(tree "$RS_PID"))
			# shellcheck disable=SC2046 # every file is one argument (names have no blanks)
			timed "$TIMEOUT" "$R/rspamc.out" "$R/rspamc.err" \
				rspamc -h 127.0.0.1:"$RS_PORT" -n "$PAR" -t 60 $(cat "$B/files")
			# shellcheck disable=SC2046 # a list of PIDs
			T1=$(cpu_ticks $(tree "$RS_PID"))
			# shellcheck disable=SC2046 # a list of PIDs
			RS_MEM=$(mem_of $(tree "$RS_PID"))
			DONE=$(grep -c '^Action: ' "$R/rspamc.out")
			ACTIONS=$(sed -n 's/^Action: //p' "$R/rspamc.out" | sort | uniq -c | sort -rn |
				awk '{ c = $1; $1 = ""; printf "%s%s %s", (NR > 1 ? ", " : ""), c, substr($0, 2) }')
			DNS=$(tail -n +"$((RS_LOG0 + 1))" "$R/log/rspamd.log" | sed -n 's/.*, dns req: \([0-9]*\),.*/\1/p' |
				awk '{ s += $1 } END { print s + 0 }')
			[ "$STATUS" = 0 ] || {
				FAILED=1
				echo "bench: rspamc exited with status $STATUS: $(tail -n 3 "$R/rspamc.err")" >&2
			}
			[ "$DONE" -ge "$N" ] || {
				FAILED=1
				echo "bench: rspamd answered $DONE of $N messages: $(grep -i -m 3 'error' "$R/rspamc.out")" >&2
			}
			[ "$DNS" = 0 ] || echo "bench: rspamd made $DNS DNS requests during the run (a network module is still on)" >&2
			RS_RATE=$(rate "$DONE" "$WALL_MS")
			SRV=$(ticks_s $((T1 - T0)))
			RS_CPU=$(per_msg "$(awk -v a="$SRV" -v b="$CPU" 'BEGIN { print a + b }')" "$DONE")
			printf 'rspamd       : %6s msg/s  (%s of %s in %s s; CPU %s s + rspamc %s s = %s ms/msg; %s at the end; %s; %s)\n' \
				"$RS_RATE" "$DONE" "$N" "$(secs "$WALL_MS")" "$SRV" "$CPU" "$RS_CPU" "$RS_MEM" "$RS_HS" "$ACTIONS"
		elif [ "$RS_OK" = 1 ]; then
			FAILED=1
			echo "rspamd       : died after start-up: $(tail -n 5 "$R/rspamd.out" "$R/log/rspamd.log" 2>/dev/null)"
		fi
		stop_tree "$RS_PID"
		RS_PID=""
	fi
fi

# --- SpamAssassin --------------------------------------------------------------
# A private spamd: the site configuration copied from /etc/spamassassin with
# network tests off (-L, skip_rbl_checks, no Razor/Pyzor), no user config
# (-x), a private home directory holding the (untrained, so inactive) Bayes
# database, no auto-learning during the run, PAR children.  The rules are
# the ones Debian's package ships (/usr/share/spamassassin).
if want spamassassin; then
	if ! command -v spamd >/dev/null || ! command -v spamc >/dev/null; then
		echo "spamassassin : skipped (spamd/spamc are not installed: BENCH=1 sh scripts/install-deps.sh)"
	else
		S=$B/sa
		mkdir -p "$S/etc" "$S/home"
		cp /etc/spamassassin/*.pre /etc/spamassassin/*.cf "$S/etc/" 2>/dev/null
		cat >>"$S/etc/local.cf" <<EOF

# bench/scan.sh: local tests only, private Bayes, nothing learned
use_bayes 1
bayes_path $S/home/bayes
bayes_auto_learn 0
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
EOF
		SA_USER=""
		if [ "$(id -u)" = 0 ]; then
			SA_USER=debian-spamd
			id "$SA_USER" >/dev/null 2>&1 || SA_USER=nobody
			chown -R "$SA_USER" "$S"
			chmod 711 "$B"
		fi
		SA_PORT=$(free_port)
		# shellcheck disable=SC2046 # -u only as root
		spamd --listen 127.0.0.1:"$SA_PORT" -L -x --max-children "$PAR" --min-children "$PAR" \
			--siteconfigpath "$S/etc" -H "$S/home" --syslog=stderr --pidfile "$S/spamd.pid" \
			$([ -n "$SA_USER" ] && echo "-u $SA_USER") >"$S/spamd.log" 2>&1 &
		SA_PID=$!
		SA_OK=0
		i=0
		while [ $i -lt $((TIMEOUT * 2)) ] && kill -0 "$SA_PID" 2>/dev/null; do
			if spamc -d 127.0.0.1 -p "$SA_PORT" -K >/dev/null 2>&1; then
				SA_OK=1
				break
			fi
			sleep 0.5
			i=$((i + 1))
		done
		# -K answers from the parent: wait for PAR children too.
		i=0
		while [ "$SA_OK" = 1 ] && [ $i -lt 100 ] &&
			[ "$(ps -o pid= --ppid "$SA_PID" 2>/dev/null | wc -l)" -lt "$PAR" ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if [ "$SA_OK" = 1 ]; then
			export SA_PORT
			# shellcheck disable=SC2046 # a list of PIDs
			T0=$(cpu_ticks $(tree "$SA_PID"))
			# shellcheck disable=SC2016 # expanded by the inner sh
			timed "$TIMEOUT" "$S/spamc.out" "$S/spamc.err" \
				xargs -d '\n' -a "$B/files" -P "$PAR" -n 1 \
				sh -c 'exec spamc -d 127.0.0.1 -p "$SA_PORT" -t 120 -c <"$1"' sh
			# shellcheck disable=SC2046 # a list of PIDs
			T1=$(cpu_ticks $(tree "$SA_PID"))
			# shellcheck disable=SC2046 # a list of PIDs
			SA_MEM=$(mem_of $(tree "$SA_PID"))
			# spamc -c prints "score/threshold" per message, "0/0" when it
			# could not get an answer.
			DONE=$(grep -Ec '^-?[0-9.]+/[0-9.]*[1-9][0-9.]*$' "$S/spamc.out")
			NSA=$(awk -F/ '$2 + 0 > 0 && $1 + 0 >= $2 + 0' "$S/spamc.out" | wc -l)
			THR=$(awk -F/ '$2 + 0 > 0 { print $2; exit }' "$S/spamc.out")
			# xargs: 0 all ham, 123 some spamc exited 1 (spam, with -c)
			case $STATUS in
			0 | 123) ;;
			*)
				FAILED=1
				echo "bench: spamc (xargs) exited with status $STATUS: $(tail -n 3 "$S/spamc.err")" >&2
				;;
			esac
			[ "$DONE" -ge "$N" ] || {
				FAILED=1
				echo "bench: spamd answered $DONE of $N messages: $(tail -n 3 "$S/spamd.log")" >&2
			}
			SA_RATE=$(rate "$DONE" "$WALL_MS")
			SRV=$(ticks_s $((T1 - T0)))
			SA_CPU=$(per_msg "$(awk -v a="$SRV" -v b="$CPU" 'BEGIN { print a + b }')" "$DONE")
			printf 'spamassassin : %6s msg/s  (%s of %s in %s s; CPU %s s + spamc %s s = %s ms/msg; %s at the end; %s spam, %s ham at %s)\n' \
				"$SA_RATE" "$DONE" "$N" "$(secs "$WALL_MS")" "$SRV" "$CPU" "$SA_CPU" "$SA_MEM" "$NSA" "$((DONE - NSA))" "${THR:-?}"
		else
			FAILED=1
			echo "spamassassin : spamd failed to start: $(tail -n 5 "$S/spamd.log")"
		fi
		stop_tree "$SA_PID"
		SA_PID=""
	fi
fi

# Ratios: above 1, sekisho is faster (msg/s) or spends less CPU per message.
if [ -n "$SEK_RATE" ]; then
	for peer in rspamd spamassassin; do
		case $peer in
		rspamd) r=$RS_RATE c=${RS_CPU:-} ;;
		spamassassin) r=$SA_RATE c=${SA_CPU:-} ;;
		esac
		[ -n "$r" ] && [ "$r" -gt 0 ] &&
			awk -v s="$SEK_RATE" -v p="$r" -v sc="$SEK_CPU" -v pc="$c" -v name="$peer" 'BEGIN {
				printf "ratio        : sekisho/%s = %.1f in msg/s, %.1f in CPU per message\n", name, s / p, (sc > 0 ? pc / sc : 0) }'
	done
fi
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $FAILED
