# net.sh - loopback helpers shared by tests/integration/lib.sh and bench/*.sh
# (POSIX sh, sourced).  Everything listens on 127.0.0.1 only.

# A free TCP port on 127.0.0.1 (bind to port 0, print what the kernel chose).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT (default 30 s).
wait_port() {
	python3 - "$1" "${2:-30}" <<'PY'
import socket, sys, time
port, limit = int(sys.argv[1]), time.time() + float(sys.argv[2])
while time.time() < limit:
    s = socket.socket()
    s.settimeout(0.2)
    if s.connect_ex(("127.0.0.1", port)) == 0:
        sys.exit(0)
    s.close()
    time.sleep(0.05)
sys.exit(1)
PY
}

# stop_pids PID...: TERM, a moment's grace, then KILL and reap each one.
stop_pids() {
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "$@"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
