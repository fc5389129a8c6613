# Shell functions shared by devtools/demo.sh, devtools/playground/play.sh and
# devtools/lambda-runner/bench.sh, which each start their own local servers on loopback.
# Sourced, not run: the caller owns `work` (a scratch folder) and `pids` (processes it stops
# on exit).

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Starts moto server for DynamoDB and SQS with the given Python, waits until it answers and
# sets `moto` to its URL; exits naming LABEL (and showing moto's log) when it does not start.
start_moto() {
    local python=$1 label=$2 port
    port=$(free_port)
    "$python" -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
    pids+=($!)
    moto="http://127.0.0.1:$port"
    python3 - "$moto" <<'PY' || { cat "$work/moto.log" >&2; echo "$label: moto did not start" >&2; exit 1; }
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PY
}
