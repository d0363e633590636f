#!/usr/bin/env bash
# Read scaling: a read-heavy mix (get=95,put=5) against 3 and 5 local nodes, with reads sent to the
# leader only (LINEARIZABLE: the client routes them to the leader) versus spread over all nodes
# (FOLLOWER: any node serves them after confirming the leader's commit index). For each run it
# prints reads/s and the leader process's CPU seconds per million reads, from /proc/PID/stat
# (utime + stime) before and after the measured run, also less what the leader uses when idle
# (measured for 10 s before the runs). Each run warms up in a separate unmeasured bench first, long
# enough for the JIT: with a 5 s warmup the C2 compiler was still compiling (in kernel time, on this
# VM) and made up ~40% of the leader's counted CPU. The JIT seconds that still fall in the measured
# window (jstat -compiler) are reported per run, as are the leader's voluntary context switches per
# read (summed over its threads from /proc/PID/task/*/status): a wake-up is what a message costs.
#
#   bench/read-scaling.sh [--nodes "3 5"] [--duration 20s] [--warmup 45s] [--concurrency 64]
#                         [--keys 10000] [--append docs/benchmarks.md] [--lease-reads]
#                         [--mix get=95,put=5] [--net-threads N] [--repeat 1]
#
# --repeat N alternates the two runs N times on the same cluster (only the first pair warms up)
# and prints each pair's ratio and their median: on a small shared VM the ratio drifts between
# runs, so one pair is a sample, not a figure.
#
# Also prints the mean reads per ReadIndex on the followers (flotilla_raft_read_index_batch): how
# many reads shared each request to the leader, which is what a spread read costs the leader.
#
# Ports 46200-46242 (bin/flotilla local --base-port 46200); data and logs in /tmp/bench-reads-*.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
flotilla="$repo/bin/flotilla"
nodes_list="3 5"
duration=20s
warmup=45s
concurrency=64
repeat=1
keys=10000
mix="get=95,put=5"
append=""
server_args=()
extra_flags="" # the script's own server flags, for the command line recorded with --append
while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) nodes_list="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --append) append="$2"; shift 2 ;;
    --mix) mix="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --lease-reads) server_args+=(--server-arg=--lease-reads); extra_flags+=" --lease-reads"; shift ;;
    --net-threads) server_args+=("--server-arg=--net-threads=$2"); extra_flags+=" --net-threads $2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "read-scaling: unknown option $1" >&2; exit 64 ;;
  esac
done
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "read-scaling: --repeat must be a positive integer, got $repeat" >&2; exit 64; }
[[ -d "$repo/cli/target/lib" ]] || { echo "read-scaling: build first: ./mvnw -q -B -DskipTests package" >&2; exit 1; }

work="$(mktemp -d /tmp/bench-reads-XXXXXX)"
results="$work/results.jsonl"
cluster_pid=""
stop_cluster() {
  if [[ -n "$cluster_pid" ]]; then
    kill "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
    cluster_pid=""
  fi
}
trap stop_cluster EXIT

cpu_ticks() { # pid -> utime + stime in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}
wakeups() { # pid -> voluntary context switches summed over its live threads
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '$1 == "voluntary_ctxt_switches:" { v += $2 } END { print v + 0 }'
}
jit_seconds() { # pid -> cumulative JIT compile time in seconds
  jstat -compiler "$1" 2>/dev/null | awk 'NR == 2 { print $4; found = 1 } END { if (!found) print "null" }'
}
hz="$(getconf CLK_TCK)"

# Summed flotilla_raft_read_index_batch _sum and _count of the nodes whose admin ports are given.
batch_totals() {
  local sum=0 count=0 port m
  for port in "$@"; do
    m="$(curl -s "http://127.0.0.1:$port/metrics" || true)"
    sum="$(awk -v s="$sum" '$1 == "flotilla_raft_read_index_batch_sum" { s += $2 } END { printf "%.0f", s }' <<<"$m")"
    count="$(awk -v c="$count" '$1 == "flotilla_raft_read_index_batch_count" { c += $2 } END { printf "%.0f", c }' <<<"$m")"
  done
  echo "$sum $count"
}

for n in $nodes_list; do
  endpoints="$(seq 0 $((n - 1)) | awk '{ printf "%s127.0.0.1:%d", (NR > 1 ? "," : ""), 46200 + 10 * $1 }')"
  "$flotilla" local --nodes "$n" --base-port 46200 --data-dir "$work/n$n" "${server_args[@]}" \
    >"$work/local-$n.log" 2>&1 &
  cluster_pid=$!
  up=""
  for _ in $(seq 1 300); do
    if "$flotilla" put --endpoints "$endpoints" bench-ready 1 >/dev/null 2>&1; then up=1; break; fi
    sleep 0.2 # polling a starting process from a script
  done
  [[ -n "$up" ]] || { echo "read-scaling: no leader among $n nodes; see $work" >&2; exit 1; }
  echo "== $n nodes: loading $keys keys" >&2
  "$flotilla" bench --endpoints "$endpoints" --mix put=100 --keys "$keys" --concurrency 256 \
    --duration 10s --warmup 0s >"$work/load-$n.out" 2>&1
  # The leader's CPU while idle (ticks, heartbeats, metrics, GC), to show what the reads add to it.
  idle_client="$("$flotilla" status --endpoints "$endpoints" | awk '$4 == "LEADER" { print $1 }')"
  idle_pid="$(ss -ltnpH "sport = :${idle_client##*:}" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)"
  idle_before="$(cpu_ticks "$idle_pid")"
  idle_start="$(date +%s.%N)"
  sleep 10 # the idle interval being measured, not a wait for a condition
  idle_cps="$(awk -v a="$idle_before" -v b="$(cpu_ticks "$idle_pid")" -v s="$idle_start" -v e="$(date +%s.%N)" -v hz="$hz" \
    'BEGIN { printf "%.4f", (b - a) / hz / (e - s) }')"
  echo "== $n nodes: idle leader uses $idle_cps CPU s per s" >&2
  for rep in $(seq 1 "$repeat"); do
  for consistency in LINEARIZABLE FOLLOWER; do
    leader_client="$("$flotilla" status --endpoints "$endpoints" | awk '$4 == "LEADER" { print $1 }')"
    leader_port="${leader_client##*:}"
    leader_pid="$(ss -ltnpH "sport = :$leader_port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)"
    [[ -n "$leader_pid" ]] || { echo "read-scaling: cannot find the leader's process" >&2; exit 1; }
    load="$(cut -d' ' -f1 /proc/loadavg)"
    echo "== $n nodes, $consistency, pair $rep of $repeat, leader $leader_client pid $leader_pid (load $load)" >&2
    # The warmup runs as its own bench so that the CPU counted is that of the measured run only.
    if (( rep == 1 )); then
      "$flotilla" bench --endpoints "$endpoints" --mix "$mix" --keys "$keys" --concurrency "$concurrency" \
        --consistency "$consistency" --duration "$warmup" --warmup 0s >/dev/null 2>&1
    fi
    follower_admin=()
    for i in $(seq 0 $((n - 1))); do
      (( 46200 + 10 * i == leader_port )) || follower_admin+=($((46202 + 10 * i)))
    done
    read -r fsum0 fcount0 <<<"$(batch_totals "${follower_admin[@]}")"
    before="$(cpu_ticks "$leader_pid")"
    wake0="$(wakeups "$leader_pid")"
    jit0="$(jit_seconds "$leader_pid")"
    "$flotilla" bench --endpoints "$endpoints" --mix "$mix" --keys "$keys" --concurrency "$concurrency" \
      --consistency "$consistency" --duration "$duration" --warmup 0s >"$work/run.out" 2>&1
    after="$(cpu_ticks "$leader_pid")"
    wake1="$(wakeups "$leader_pid")"
    jit1="$(jit_seconds "$leader_pid")"
    jit=null # without jstat (a JRE only), not measured
    [[ "$jit0" == null || "$jit1" == null ]] || jit="$(awk -v a="$jit0" -v b="$jit1" 'BEGIN { printf "%.2f", b - a }')"
    read -r fsum1 fcount1 <<<"$(batch_totals "${follower_admin[@]}")"
    fbatch="$(awk -v s=$((fsum1 - fsum0)) -v c=$((fcount1 - fcount0)) 'BEGIN { if (c > 0) printf "%.2f", s / c; else print "null" }')"
    leader_after="$("$flotilla" status --endpoints "$endpoints" | awk '$4 == "LEADER" { print $1 }')"
    changed=false
    [[ "$leader_after" == "$leader_client" ]] || changed=true  # then the CPU counted is not the leader's alone
    tail -1 "$work/run.out" | jq -c --argjson n "$n" --arg load "$load" --argjson cpu "$(( after - before ))" \
      --argjson hz "$hz" --argjson idle "$idle_cps" --argjson changed "$changed" --argjson fbatch "$fbatch" --arg mix "$mix" \
      --argjson wakeups "$(( wake1 - wake0 ))" --argjson jit "$jit" \
      --argjson rep "$rep" \
      '. + {nodes: $n, pair: $rep, leaderJitSeconds: $jit, leaderWakeups: $wakeups,
             leaderWakeupsPerRead: (if (.byOp.get // 0) > 0 then $wakeups / .byOp.get else null end), load: $load, mix: $mix, followerReadsPerReadIndex: $fbatch, leaderChanged: $changed, leaderCpuSeconds: ($cpu / $hz), leaderIdleCpuPerSecond: $idle,
             leaderCpuSecondsPerMillionReadsAboveIdle: (if (.byOp.get // 0) > 0 then (($cpu / $hz) - $idle * .seconds) / .byOp.get * 1e6 else null end),
             readsPerSec: ((.byOp.get // 0) / .seconds),
             leaderCpuSecondsPerMillionReads: (if (.byOp.get // 0) > 0 then ($cpu / $hz) / .byOp.get * 1e6 else null end)}' \
      | tee -a "$results" >&2
  done
  done
  stop_cluster
done

table="$(jq -rs '
  def r(x): (x * 100 | round) / 100;
  "| nodes | pair | mix | reads to | reads/s | ops/s | p50 / p99 ms | leader CPU s | leader CPU s per 10^6 reads | same, above idle | leader wake-ups per read | leader JIT s in run | reads per follower ReadIndex | errors | load avg |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  (.[] | "| \(.nodes) | \(.pair // 1) | \(.mix) | \(if .consistency == "FOLLOWER" then "all nodes (FOLLOWER)" else "leader (LINEARIZABLE)" end)\(if .leaderChanged then " **leader changed during the run: CPU invalid**" else "" end)"
     + " | \(.readsPerSec | round) | \(.opsPerSec | round) | \(.latencyMs.p50) / \(.latencyMs.p99)"
     + " | \(r(.leaderCpuSeconds)) | \(r(.leaderCpuSecondsPerMillionReads)) | \(r(.leaderCpuSecondsPerMillionReadsAboveIdle)) | \(r(.leaderWakeupsPerRead)) | \(.leaderJitSeconds // "-") | \(.followerReadsPerReadIndex // "-") | \(.errors | length) | \(.load) |"),
  "",
  (group_by(.nodes)[] | . as $runs | [group_by(.pair)[]
       | (map(select(.consistency == "LINEARIZABLE"))[0]) as $l | (map(select(.consistency == "FOLLOWER"))[0]) as $f
       | {l: $l, f: $f, ratio: ($l.leaderCpuSecondsPerMillionReads / $f.leaderCpuSecondsPerMillionReads),
          idle: ($l.leaderCpuSecondsPerMillionReadsAboveIdle / $f.leaderCpuSecondsPerMillionReadsAboveIdle),
          reads: ($f.readsPerSec / $l.readsPerSec)}] as $pairs
     | ($pairs | map(.ratio) | sort) as $sorted
     | ($pairs[] | "\(.l.nodes) nodes, pair \(.l.pair): spreading reads cuts the leader CPU per read \(r(.ratio))x (above idle: \(r(.idle))x); reads/s \(r(.reads))x; idle leader \(.l.leaderIdleCpuPerSecond) CPU s/s"),
       (if ($pairs | length) > 1 then "\($runs[0].nodes) nodes: median of \($pairs | length) pairs \(r(($sorted[(($sorted | length) - 1) / 2 | floor] + $sorted[($sorted | length) / 2 | floor]) / 2))x, range \(r($sorted[0]))x to \(r($sorted[-1]))x" else empty end))
' "$results")"
echo
echo "$table"
echo "raw results: $results"
if [[ -n "$append" ]]; then
  {
    echo
    echo "### read-scaling.sh run of $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo '```'
    echo "bench/read-scaling.sh --nodes \"$nodes_list\" --duration $duration --warmup $warmup --concurrency $concurrency --keys $keys --mix $mix --repeat $repeat$extra_flags"
    echo '```'
    echo
    echo "$table"
  } >>"$append"
  echo "appended to $append"
fi
