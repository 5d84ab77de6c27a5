#!/bin/sh
# test_crash.sh - never lose an acknowledged message.
#
# smtp-source pushes 2,000 messages (20 sessions) through sekishod into
# smtp-sink while the daemon is killed with SIGKILL at random moments, at
# least 5 times, and restarted each time.  Every "250 ... queued as ID" that
# smtp-source saw must reach the sink.  Prints acknowledged, delivered,
# lost (must be 0) and duplicated.
. "$(dirname "$0")/lib.sh"

command -v smtp-source >/dev/null || skip "smtp-source (postfix) is not installed"

TOTAL=${CRASH_MESSAGES:-2000}
KILLS=${CRASH_KILLS:-5}

SINK=$(free_port)
start_sink in "$SINK"
IN_PORT=$(free_port)
OUT_PORT=$(free_port)
start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o local_domains=sekisho.test

acked() {
	cat "$T"/source.*.out 2>/dev/null | sed -n 's/.*<<< 250 2.0.0 Ok: queued as \([0-9A-Z]*\).*/\1/p' | sort -u | wc -l
}

# The pusher: run smtp-source until TOTAL messages were acknowledged; a run
# dies when the daemon is killed under it, so start another.
(
	run=0
	while [ "$(acked)" -lt "$TOTAL" ]; do
		run=$((run + 1))
		left=$((TOTAL - $(acked)))
		smtp-source -v -s 20 -m "$left" -l 2048 -f sender@example.org \
			-t user@sekisho.test 127.0.0.1:"$IN_PORT" >"$T/source.$run.out" 2>&1
		sleep 0.2
	done
) &
PUSHER=$!
PIDS="$PIDS $PUSHER"

# Kill at random moments for as long as the push goes on, at least KILLS times.
kills=0
during=0
while [ $kills -lt "$KILLS" ] || kill -0 "$PUSHER" 2>/dev/null; do
	sleep "$(python3 -c 'import random; print(round(random.uniform(0.2, 0.8), 2))')"
	kill -0 "$PUSHER" 2>/dev/null && during=$((during + 1))
	kill -9 "$SEKISHOD_PID" 2>/dev/null
	wait "$SEKISHOD_PID" 2>/dev/null
	kills=$((kills + 1))
	echo "# killed sekishod ($kills), $(acked) acknowledged so far"
	start_sekishod -o inbound_next_hop=smtp:127.0.0.1:"$SINK" -o local_domains=sekisho.test
done
[ $during -ge "$KILLS" ] || fail "only $during of the kills happened while smtp-source was pushing"
ok "sekishod killed with SIGKILL $kills times ($during while smtp-source was pushing) and restarted"

wait "$PUSHER"
ok "smtp-source got $TOTAL acknowledgements"

# let the queue drain
drained() {
	"$SEKISHO" -o state_dir="$T/state" queue list | grep -q -- '-- 0 messages'
}
wait_for 180 drained || fail "queue did not drain: $("$SEKISHO" -o state_dir="$T/state" queue list | tail -3)"
ok "queue drained"

cat "$T"/source.*.out | sed -n 's/.*<<< 250 2.0.0 Ok: queued as \([0-9A-Z]*\).*/\1/p' | sort -u >"$T/acked.ids"
python3 - "$T" <<'PY'
import os, re, sys
t = sys.argv[1]
acked = set(open(os.path.join(t, "acked.ids")).read().split())
seen_qid = {}
seen_mid = {}
for name in os.listdir(os.path.join(t, "in")):
    data = open(os.path.join(t, "in", name), "rb").read().decode("latin-1")
    m = re.search(r"by gw\.sekisho\.test \(sekisho\) with \S+ id ([0-9A-Z]+)", data)
    mid = re.search(r"(?im)^Message-Id:\s*(<[^>]*>)", data)
    if m:
        seen_qid[m.group(1)] = seen_qid.get(m.group(1), 0) + 1
    if mid:
        seen_mid[mid.group(1)] = seen_mid.get(mid.group(1), 0) + 1
lost = sorted(acked - set(seen_qid))
dups = sum(n - 1 for n in seen_mid.values() if n > 1)
print("# acknowledged %d, delivered %d (distinct Message-IDs %d), lost %d, duplicated %d"
      % (len(acked), sum(seen_qid.values()), len(seen_mid), len(lost), dups))
with open(os.path.join(t, "crash.result"), "w") as f:
    f.write("acknowledged=%d delivered=%d lost=%d duplicated=%d\n"
            % (len(acked), len(seen_mid), len(lost), dups))
if lost:
    print("# lost queue ids: " + " ".join(lost[:20]))
sys.exit(1 if lost else 0)
PY
rc=$?
[ $rc -eq 0 ] || fail "acknowledged messages were lost"
ok "no acknowledged message lost ($(cat "$T/crash.result"))"
check "no temporary spool files left" sh -c "[ -z \"\$(ls -A '$T/state/spool/tmp')\" ]"
stop_sekishod
ok "sekishod stopped cleanly"
finish
