#!/usr/bin/env bash
# Durable puts, two builds side by side in one run: for each round, each build in turn starts its
# own 3-node local cluster, warms it with puts until the JIT has settled, then measures puts at
# 1, 16 and 256 in flight, each cell with the cluster's CPU (the three node processes' utime +
# stime from /proc/PID/stat) so that it reports CPU per put. The builds alternate (A B A B ...)
# so that drift in the machine's state falls on both.
#
#   bench/ab-puts.sh --a /path/to/checkout-before --b /path/to/checkout-after [--rounds 2]
#       [--warmup 45s] [--duration 15s] [--concurrency "1 16 256"] [--ranges-a 1] [--ranges-b 1]
#       [--tls-a] [--tls-b]
#
# --tls-a / --tls-b run that build's cluster with TLS on every port (local --tls) and its load over
# TLS: with the same checkout as A and B, TLS off against on (docs/security.md).
# --ranges-a / --ranges-b pre-split that build's cluster into N ranges (local --ranges N; both may be
# the same checkout to compare range counts). Each cell also reports the WAL forces per second per
# node and the Raft groups per force, from the nodes' /metrics (0 where a build has no such metric).
# Each checkout must be built (./mvnw -q -B -DskipTests package). Ports 46400-46422; data and
# logs in /tmp/bench-ab-*. Prints one line per cell and a table at the end (docs/benchmarks.md).
set -euo pipefail

a="" b="" rounds=2 warmup=45s duration=15s concurrency="1 16 256" ranges_a=1 ranges_b=1 tls_a="" tls_b=""
while (( $# )); do
  case "$1" in
    --a) a="$2"; shift 2 ;;
    --b) b="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --ranges-a) ranges_a="$2"; shift 2 ;;
    --ranges-b) ranges_b="$2"; shift 2 ;;
    --tls-a) tls_a=1; shift ;;
    --tls-b) tls_b=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "ab-puts: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ -n "$a" && -n "$b" ]] || { echo "ab-puts: --a and --b (two built checkouts) are required" >&2; exit 64; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "ab-puts: --rounds must be a positive integer, got $rounds" >&2; exit 64; }

cli_of() { # a checkout -> its command line (the layout changed between builds: bin/flotilla knows it)
  [[ -x "$1/bin/flotilla" ]] || { echo "ab-puts: $1/bin/flotilla not found" >&2; exit 1; }
  echo "$1/bin/flotilla"
}
flotilla_a="$(cli_of "$a")"
flotilla_b="$(cli_of "$b")"

work="$(mktemp -d /tmp/bench-ab-XXXXXX)"
results="$work/results.tsv"
cluster_pid=""
stop_cluster() {
  if [[ -n "$cluster_pid" ]]; then
    kill "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
    cluster_pid=""
  fi
}
trap stop_cluster EXIT
hz="$(getconf CLK_TCK)"
endpoints="127.0.0.1:46400,127.0.0.1:46410,127.0.0.1:46420"

node_pids() { # the processes listening on the three client ports
  for port in 46400 46410 46420; do
    ss -ltnpH "sport = :$port" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
  done
}
tls_args=() # the load's --tls-dir while a TLS build runs
curl_tls=() # and curl's trust of the local CA
admin_scheme=http
wal_forces() { # forces and groups-in-forces summed over the three nodes' /metrics
  local f=0 g=0 port m
  for port in 46402 46412 46422; do
    m="$(curl -sf "${curl_tls[@]}" "$admin_scheme://127.0.0.1:$port/metrics" || true)"
    f="$(awk -v t="$f" '/^flotilla_wal_force_seconds_count/ { t += $2 } END { printf "%d", t }' <<<"$m")"
    g="$(awk -v t="$g" '/^flotilla_wal_batch_groups_sum/ { t += $2 } END { printf "%d", t }' <<<"$m")"
  done
  echo "$f $g"
}
cluster_ticks() { # utime + stime of the given processes, in clock ticks
  local t=0 pid
  for pid in "$@"; do
    t=$(( t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat") ))
  done
  echo "$t"
}

run_build() { # label flotilla round ranges tls
  local label="$1" flotilla="$2" round="$3" ranges="$4" tls="$5" split=()
  if (( ranges > 1 )); then split=(--ranges "$ranges"); fi
  if [[ -n "$tls" ]]; then
    split+=(--tls); tls_args=(--tls-dir "$work/data/tls/client"); admin_scheme=https
    curl_tls=(--cacert "$work/data/tls/ca/ca.pem")
  else
    tls_args=(); curl_tls=(); admin_scheme=http
  fi
  rm -rf "$work/data"
  "$flotilla" local --base-port 46400 --data-dir "$work/data" "${split[@]}" >"$work/local-$label-$round.log" 2>&1 &
  cluster_pid=$!
  local up=""
  for _ in $(seq 1 300); do
    if "$flotilla" put --endpoints "$endpoints" "${tls_args[@]}" bench-ready 1 >/dev/null 2>&1; then up=1; break; fi
    sleep 0.2 # polling a starting process from a script
  done
  [[ -n "$up" ]] || { echo "ab-puts: build $label: no leader; see $work" >&2; exit 1; }
  mapfile -t pids < <(node_pids)
  echo "== build $label round $round: warming up with puts for $warmup (pids ${pids[*]})" >&2
  "$flotilla" bench --endpoints "$endpoints" "${tls_args[@]}" --mix put=100 --concurrency 256 --duration "$warmup" --warmup 0s \
    >/dev/null 2>&1
  for c in $concurrency; do
    local before after out load
    load="$(cut -d' ' -f1 /proc/loadavg)"
    "$flotilla" bench --endpoints "$endpoints" "${tls_args[@]}" --mix put=100 --concurrency "$c" --duration 3s --warmup 0s \
      >/dev/null 2>&1
    before="$(cluster_ticks "${pids[@]}")"
    forces_before="$(wal_forces)"
    out="$("$flotilla" bench --endpoints "$endpoints" "${tls_args[@]}" --mix put=100 --concurrency "$c" --duration "$duration" \
      --warmup 0s 2>/dev/null | tail -1)"
    after="$(cluster_ticks "${pids[@]}")"
    forces_after="$(wal_forces)"
    python3 - "$label" "$round" "$c" "$load" "$before" "$after" "$hz" "$out" "$ranges" "$forces_before" \
      "$forces_after" "$duration" >>"$results" <<'EOF'
import json, sys
label, rnd, c, load, before, after, hz, out, ranges, fb, fa, dur = sys.argv[1:]
r = json.loads(out)
cpu = (int(after) - int(before)) / int(hz)
f0, g0 = map(int, fb.split()); f1, g1 = map(int, fa.split())
forces = f1 - f0
secs = float(dur.rstrip("s"))  # the cell's measured window (forces counted around it, so a bound)
print("\t".join([label, rnd, ranges, c, load, "%.0f" % r["opsPerSec"], "%.3f" % r["latencyMs"]["p50"],
                 "%.3f" % r["latencyMs"]["p99"], "%.1f" % (cpu / max(r["ops"], 1) * 1e6),
                 "%.0f" % (forces / 3 / secs), "%.2f" % ((g1 - g0) / forces if forces else 0), str(r["errors"])]))
EOF
    tail -1 "$results" | awk -F'\t' '{ printf "build %s round %s, %s ranges, %s in flight: %s puts/s, p50 %s ms, p99 %s ms, %s us CPU per put, %s WAL forces/s per node, %s groups per force (load %s, errors %s)\n", $1, $2, $3, $4, $6, $7, $8, $9, $10, $11, $5, $12 }' >&2
  done
  stop_cluster
}

for round in $(seq 1 "$rounds"); do
  run_build A "$flotilla_a" "$round" "$ranges_a" "$tls_a"
  run_build B "$flotilla_b" "$round" "$ranges_b" "$tls_b"
done

echo
echo "| build | round | ranges | in flight | load | puts/s | p50 ms | p99 ms | cluster CPU µs per put | WAL forces/s per node | groups per force | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }' "$results"
echo
echo "A = $a ($(git -C "$a" rev-parse --short HEAD 2>/dev/null || echo '?'))${tls_a:+ with TLS}, B = $b ($(git -C "$b" rev-parse --short HEAD 2>/dev/null || echo '?'))${tls_b:+ with TLS}; data in $work"
