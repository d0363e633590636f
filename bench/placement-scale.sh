#!/usr/bin/env bash
# Issue 17's process test, as separate processes (docs/placement.md): a local 3-node cluster with
# a small --range-max-bytes takes ~--mib MiB, so its ranges split by size; then, with a put load
# running throughout:
#   1. nodes 4 and 5 start with --join (ids from the cluster): how long until every node holds
#      15-25% of the replicas and at least one leader, no move pending;
#   2. node 1 is decommissioned: how long until it is removed, holding nothing;
#   3. node 2 is killed (kill -9): how long, after --dead-after, until no range counts it.
# Prints each step's time, `node list` and `range list` along the way, and the load's result
# (errors beyond the client's retries). Not part of the tests: about 5 minutes.
#
#   bench/placement-scale.sh [--mib 20] [--range-max-bytes 1048576] [--dead-after 20s] [--rate 300]
#
# Ports 46700-46742; data and logs in /tmp/bench-placement-*. The build must be packaged
# (./mvnw -q -B -DskipTests package). Figures: docs/benchmarks.md, "Placement".
set -euo pipefail

mib=20 max_bytes=1048576 dead_after=20s rate=300 load_seconds=240
while (( $# )); do
  case "$1" in
    --mib) mib="$2"; shift 2 ;;
    --range-max-bytes) max_bytes="$2"; shift 2 ;;
    --dead-after) dead_after="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "placement-scale: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ "$mib" =~ ^[1-9][0-9]*$ ]] || { echo "placement-scale: --mib must be a positive integer" >&2; exit 64; }
[[ "$max_bytes" =~ ^[1-9][0-9]*$ ]] || { echo "placement-scale: --range-max-bytes must be a positive integer" >&2; exit 64; }
[[ "$rate" =~ ^[1-9][0-9]*$ ]] || { echo "placement-scale: --rate must be a positive integer" >&2; exit 64; }

here="$(cd "$(dirname "$0")/.." && pwd)"
flotilla="$here/bin/flotilla"
work="$(mktemp -d /tmp/bench-placement-XXXXXX)"
endpoints="127.0.0.1:46700,127.0.0.1:46710,127.0.0.1:46720,127.0.0.1:46730,127.0.0.1:46740"
keys=$(( mib * 1024 ))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -f "$work/" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.1f}')"; }
nodes_json() { "$flotilla" node list --endpoints "$endpoints" --json 2>/dev/null || echo '{"nodes":[]}'; }
ranges_json() { "$flotilla" range list --endpoints "$endpoints" --json 2>/dev/null || echo '{"ranges":[]}'; }
# wait_until SECONDS CHECK...: polls another process's state until CHECK succeeds.
wait_until() {
  local limit=$1; shift
  local deadline=$(( $(date +%s) + limit ))
  until "$@"; do
    (( $(date +%s) < deadline )) || return 1
    sleep 1 # polling other processes
  done
}

"$flotilla" local --base-port 46700 --data-dir "$work/data" --server-arg=--range-max-bytes="$max_bytes" \
  --server-arg=--dead-after="$dead_after" >"$work/local.log" 2>&1 &
pids+=($!)
wait_until 120 grep -q "^endpoints:" "$work/local.log" || { echo "the cluster did not start: $work/local.log" >&2; exit 1; }

echo "== filling ~$mib MiB: 1 KiB values over $keys keys, --range-max-bytes $max_bytes (data in $work)"
"$flotilla" bench --endpoints "$endpoints" --mix put=100 --value-size 1024 --keys "$keys" --concurrency 64 \
  --warmup 1s --duration "$(( keys * 2 / 2000 + 5 ))s" --rate 2000 >"$work/fill.log" 2>&1
tail -1 "$work/fill.log"
split_enough() { (( $(ranges_json | jq '.ranges | length') >= mib / 2 )); }
wait_until 120 split_enough || echo "(fewer ranges than expected)"
echo "ranges: $(ranges_json | jq '.ranges | length')"

echo "== a put load at $rate/s runs from here on"
"$flotilla" bench --endpoints "$endpoints" --mix put=100 --value-size 1024 --keys "$keys" --concurrency 32 \
  --warmup 1s --duration "$load_seconds"s --rate "$rate" >"$work/load.log" 2>&1 &
load_pid=$!
pids+=($load_pid)

echo "== 1. nodes 4 and 5 join"
t0=$(now)
for n in 4 5; do
  base=$(( 46700 + 10 * (n - 1) ))
  mkdir -p "$work/data/node$n"
  "$flotilla" server --join 127.0.0.1:46700 --data-dir "$work/data/node$n" --client "127.0.0.1:$base" \
    --peer "127.0.0.1:$(( base + 1 ))" --admin "127.0.0.1:$(( base + 2 ))" --tick-ms 50 \
    --range-max-bytes "$max_bytes" --dead-after "$dead_after" >"$work/data/node$n.log" 2>&1 &
  pids+=($!)
done
balanced() {
  nodes_json | jq -e '(.nodes | length == 5) and .pendingMoves == 0
    and ([.nodes[].replicas] | add) as $t
    | all(.nodes[]; .state == "live" and .leaders >= 1
        and .replicas >= ($t * 0.15 | floor) and .replicas <= ($t * 0.25 | ceil))' >/dev/null
}
if wait_until 300 balanced; then echo "balanced after $(since "$t0") s"; else echo "NOT balanced within 300 s"; fi
"$flotilla" node list --endpoints "$endpoints"

echo "== 2. node 1 is decommissioned"
t0=$(now)
"$flotilla" node decommission 1 --endpoints "$endpoints" >/dev/null
removed1() { nodes_json | jq -e 'any(.nodes[]; .id == 1 and .state == "removed")' >/dev/null; }
if wait_until 300 removed1; then echo "node 1 removed after $(since "$t0") s"; else echo "node 1 NOT removed within 300 s"; fi
pkill -f "$work/data/node1 " 2>/dev/null || pkill -f "$work/data/node1" || true
"$flotilla" node list --endpoints "$endpoints"

echo "== 3. node 2 is killed (--dead-after $dead_after)"
t0=$(now)
pkill -9 -f "$work/data/node2" || true
rebuilt() {
  ranges_json | jq -e '[.ranges[] | select(.id != 1) | .replicas | (index(2) == null) and length == 3] | all' >/dev/null \
    && nodes_json | jq -e 'any(.nodes[]; .id == 2 and .state == "dead")' >/dev/null
}
if wait_until 300 rebuilt; then echo "node 2's replicas rebuilt $(since "$t0") s after the kill"; else echo "NOT rebuilt within 300 s"; fi
"$flotilla" node list --endpoints "$endpoints"
"$flotilla" range list --endpoints "$endpoints" | head -5

echo "== the load ($load_seconds s, started before step 1; waiting for it to end)"
wait "$load_pid" 2>/dev/null || true
tail -4 "$work/load.log"
