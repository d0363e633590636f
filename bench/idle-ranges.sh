#!/usr/bin/env bash
# Many idle ranges: a local 3-node cluster split into N ranges (leaders spread), then
#   1. idle CPU: the three node processes' utime + stime over a window with no requests, as a
#      percentage of one core per node;
#   2. restart: every node stopped (SIGKILL) and started again; the time until every range has a
#      leader again, then 5 s of puts over every range's keys (bench; the errors must be none).
#
#   bench/idle-ranges.sh [--ranges 1000] [--window 30s] [--settle 15s] [--quiesce|--no-quiesce]
#
# Quiescence (server --quiesce) is on unless --no-quiesce. Ports 46500-46522; data and logs in
# /tmp/bench-idle-*. The build must be packaged (./mvnw -q -B -DskipTests package). Prints one
# line per measurement (docs/benchmarks.md, "Many idle ranges").
set -euo pipefail

ranges=1000 window=30 settle=15 quiesce=(--server-arg=--quiesce)
while (( $# )); do
  case "$1" in
    --ranges) ranges="$2"; shift 2 ;;
    --window) window="${2%s}"; shift 2 ;;
    --settle) settle="${2%s}"; shift 2 ;;
    --quiesce) quiesce=(--server-arg=--quiesce); shift ;;
    --no-quiesce) quiesce=(); shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "idle-ranges: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ "$ranges" =~ ^[1-9][0-9]*$ ]] || { echo "idle-ranges: --ranges must be a positive integer" >&2; exit 64; }

here="$(cd "$(dirname "$0")/.." && pwd)"
flotilla="$here/bin/flotilla"
work="$(mktemp -d /tmp/bench-idle-XXXXXX)"
endpoints="127.0.0.1:46500,127.0.0.1:46510,127.0.0.1:46520"
hz="$(getconf CLK_TCK)"
local_pid=""
stop_local() {
  if [[ -n "$local_pid" ]]; then
    kill "$local_pid" 2>/dev/null || true
    wait "$local_pid" 2>/dev/null || true
    local_pid=""
  fi
}
trap stop_local EXIT

node_pids() {
  for port in 46500 46510 46520; do
    ss -ltnpH "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
  done
}
ticks() {
  local t=0 pid
  for pid in "$@"; do
    t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat") ))
  done
  echo "$t"
}
start_local() { # extra args...
  "$flotilla" local --base-port 46500 --data-dir "$work/data" "${quiesce[@]}" "$@" >>"$work/local.log" 2>&1 &
  local_pid=$!
}
await_line() { # pattern timeout-seconds
  local deadline=$(( $(date +%s) + $2 ))
  until grep -q "$1" "$work/local.log"; do
    (( $(date +%s) < deadline )) || { echo "idle-ranges: timed out waiting for '$1'; see $work/local.log" >&2; exit 1; }
    sleep 0.2 # polling another process's output
  done
}

echo "== $ranges ranges, quiescence ${quiesce[*]:-off}; data in $work" >&2
t0=$(date +%s.%N)
start_local --ranges "$ranges"
await_line "^endpoints:" 1200
echo "split into $ranges ranges with leaders spread in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s" >&2
sleep "$settle" # let the ranges go idle (quiesce) before measuring: a fixed settling time, not a wait for a condition
mapfile -t pids < <(node_pids)
before=$(ticks "${pids[@]}")
sleep "$window" # the measured idle window
after=$(ticks "${pids[@]}")
cpu=$(python3 -c "print(round(($after - $before) / $hz / $window / 3 * 100, 2))")
total=$(python3 -c "print(round(($after - $before) / $hz / $window * 100, 2))")
quiesced=$(curl -sf http://127.0.0.1:46502/metrics | awk '/^flotilla_ranges_quiesced/ { print $2 }')
echo "idle CPU: $cpu% of one core per node ($total% for the three), $ranges ranges, ${quiesced:-?} quiesced on node 1, window ${window}s"

# Restart: SIGKILL every node, then start them again on the same data.
kill -9 "${pids[@]}"
stop_local
: >"$work/local.log"
t1=$(date +%s.%N)
start_local
await_line "^endpoints:" 300
python3 - "$flotilla" "$endpoints" "$ranges" "$t1" <<'EOF'
import json, subprocess, sys, time
flotilla, endpoints, ranges, t1 = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
deadline = time.time() + 300
while True:
    r = subprocess.run([flotilla, "range", "list", "--json", "--endpoints", endpoints], capture_output=True, text=True)
    if r.returncode == 0:
        rs = json.loads(r.stdout)["ranges"]
        if len(rs) >= ranges and all(x.get("leader") for x in rs):
            break
    if time.time() > deadline:
        sys.exit("idle-ranges: ranges without a leader 300 s after the restart")
    time.sleep(0.1)  # polling another process
led = time.time() - t1
print("restart of %d ranges: every range has a leader %.1f s after the nodes were started again" % (len(rs), led))
EOF
"$flotilla" bench --endpoints "$endpoints" --mix put=100 --keys 100000 --concurrency 64 --duration 5s --warmup 0s \
  2>/dev/null | tail -1 | python3 -c 'import json, sys; r = json.load(sys.stdin); print("puts over every range after the restart: %.0f/s, errors %s" % (r["opsPerSec"], r["errors"]))'
