#!/usr/bin/env bash
# Flotilla and etcd side by side on this machine, through the same load generator
# (bin/flotilla bench; etcd via --target etcd, i.e. jetcd).
#
#   bench/compare-etcd.sh [--duration 10s] [--warmup 3s] [--concurrency "1 16 64 256"]
#                         [--mixes "put=100 get=90,put=10"] [--append docs/benchmarks.md]
#                         [--flotilla-opts "--no-sessions"]   (extra bench options, Flotilla runs only)
#                         [--flotilla-first]   (Flotilla's matrix before etcd's, to see drift)
#                         [--interleave]   (both clusters up, cells alternate between systems)
#
# - etcd: Debian's etcd-server (installed with apt-get if missing), 3 members on 127.0.0.1,
#   separate data dirs, fsync on (etcd's default; --unsafe-no-fsync is never given).
# - Flotilla: `bin/flotilla local` (3 separate JVMs, fsync on).
# - By default one system at a time: etcd's members are stopped before Flotilla's start, and each
#   system runs the whole matrix (for each mix, each concurrency; puts first, so the 90/10 mix
#   reads mostly existing keys). --interleave keeps both up and alternates cell by cell, which
#   on a machine whose load drifts compares like with like. Either way each system first gets
#   10 s of unmeasured puts.
# - 256-byte values, 100,000 uniform keys, 4 client instances, linearizable gets.
# Prints one table (ops/s, p50, p99 per system and the ratios) and, with --append FILE, appends
# it with the machine, the date and the load average to FILE. Raw JSON lines and logs go to
# /tmp/bench-compare-*/ (kept). Ports: etcd 46401-46413, Flotilla 46100-46122.
set -euo pipefail

invocation="bench/compare-etcd.sh $*"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
flotilla="$repo/bin/flotilla"
duration=10s
warmup=3s
concurrency="1 16 64 256"
mixes="put=100 get=90,put=10"
append=""
flotilla_opts=""
order="etcd flotilla"
interleave=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --mixes) mixes="$2"; shift 2 ;;
    --append) append="$2"; shift 2 ;;
    --flotilla-opts) flotilla_opts="$2"; shift 2 ;;
    --flotilla-first) order="flotilla etcd"; shift ;;
    --interleave) interleave=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "compare-etcd: unknown option $1" >&2; exit 64 ;;
  esac
done

[[ -d "$repo/cli/target/lib" && -d "$repo/bench/target/etcd-lib" ]] || {
  echo "compare-etcd: build first: ./mvnw -q -B -pl cli,bench -am package -DskipTests" >&2; exit 1; }
if ! command -v etcd >/dev/null; then
  echo "compare-etcd: installing Debian's etcd-server" >&2
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q etcd-server >/dev/null
fi

work="$(mktemp -d /tmp/bench-compare-XXXXXX)"
results="$work/results.jsonl"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do
    [[ -n "$p" ]] && kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]:-}"; do
    [[ -n "$p" ]] && wait "$p" 2>/dev/null || true
  done
  pids=()
}
trap cleanup EXIT

etcd_endpoints="http://127.0.0.1:46401,http://127.0.0.1:46402,http://127.0.0.1:46403"
start_etcd() {
  local cluster="e1=http://127.0.0.1:46411,e2=http://127.0.0.1:46412,e3=http://127.0.0.1:46413"
  for i in 1 2 3; do
    etcd --name "e$i" --data-dir "$work/etcd/e$i" \
      --listen-client-urls "http://127.0.0.1:4640$i" --advertise-client-urls "http://127.0.0.1:4640$i" \
      --listen-peer-urls "http://127.0.0.1:4641$i" --initial-advertise-peer-urls "http://127.0.0.1:4641$i" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token flotilla-bench \
      --quota-backend-bytes 4294967296 >"$work/etcd-e$i.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 1 150); do
    if curl -fsS http://127.0.0.1:46401/health 2>/dev/null | grep -q '"health":"true"'; then
      return 0
    fi
    sleep 0.2 # polling a starting process from a script
  done
  echo "compare-etcd: etcd did not become healthy; see $work/etcd-e*.log" >&2
  exit 1
}

flotilla_endpoints="127.0.0.1:46100,127.0.0.1:46110,127.0.0.1:46120"
start_flotilla() {
  "$flotilla" local --nodes 3 --base-port 46100 --data-dir "$work/flotilla" >"$work/flotilla-local.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    if "$flotilla" put --endpoints "$flotilla_endpoints" bench-ready 1 >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2 # polling a starting process from a script
  done
  echo "compare-etcd: Flotilla elected no leader; see $work/flotilla-local.log and $work/flotilla/" >&2
  exit 1
}

run_cell() { # system endpoints extra mix concurrency
  local system="$1" endpoints="$2" extra="$3" mix="$4" c="$5" load clients=4
  load="$(cut -d' ' -f1 /proc/loadavg)"
  echo "== $system mix=$mix concurrency=$c (load $load)" >&2
  [[ "$c" -lt 4 ]] && clients="$c"
  "$flotilla" bench --target "$system" --endpoints "$endpoints" --mix "$mix" --concurrency "$c" \
    --clients "$clients" --value-size 256 --keys 100000 --consistency LINEARIZABLE \
    --duration "$duration" --warmup "$warmup" $extra >"$work/run.out" 2>"$work/run.err" || {
      echo "compare-etcd: $system run failed:" >&2; tail -20 "$work/run.err" >&2; exit 1; }
  tail -1 "$work/run.out" | jq -c --arg load "$load" '. + {load: $load}' | tee -a "$results" >&2
}

endpoints_of() { [[ "$1" == etcd ]] && echo "$etcd_endpoints" || echo "$flotilla_endpoints"; }
extra_of() { [[ "$1" == etcd ]] && echo "" || echo "$flotilla_opts"; }

# Unmeasured load first, so that neither system's first cell pays for a cold start (Flotilla's
# JIT, both systems' first allocations of the key space).
prime() { # system
  echo "== priming $1 (10 s of puts at concurrency 64, not recorded)" >&2
  "$flotilla" bench --target "$1" --endpoints "$(endpoints_of "$1")" --mix put=100 --concurrency 64 \
    --keys 100000 --duration 10s --warmup 0s $(extra_of "$1") >/dev/null 2>&1
}

started="$(date -u '+%Y-%m-%d %H:%M UTC')"
if [[ -n "$interleave" ]]; then
  # Both clusters up at once (the idle one only ticks), cells alternating between the systems
  # and the first system alternating from cell to cell, so slow drifts in the machine's load
  # fall on both equally.
  start_etcd
  start_flotilla
  prime etcd
  prime flotilla
  flip=0
  for mix in $mixes; do
    for c in $concurrency; do
      if (( flip % 2 == 0 )); then pair="etcd flotilla"; else pair="flotilla etcd"; fi
      flip=$((flip + 1))
      for system in $pair; do
        run_cell "$system" "$(endpoints_of "$system")" "$(extra_of "$system")" "$mix" "$c"
      done
    done
  done
  cleanup
else
  for system in $order; do
    if [[ "$system" == etcd ]]; then start_etcd; else start_flotilla; fi
    prime "$system"
    for mix in $mixes; do
      for c in $concurrency; do
        run_cell "$system" "$(endpoints_of "$system")" "$(extra_of "$system")" "$mix" "$c"
      done
    done
    cleanup
  done
fi

table="$(jq -rs '
  def r(x): (x * 100 | round) / 100;
  def row($all; $m; $c): ($all | map(select(.mix == $m and .concurrency == $c)) | INDEX(.target)) as $x
    | "| \($m) | \($c) | \($x.flotilla.opsPerSec | round) | \($x.etcd.opsPerSec | round) | **\(r($x.flotilla.opsPerSec / $x.etcd.opsPerSec))x**"
      + " | \($x.flotilla.latencyMs.p50) / \($x.flotilla.latencyMs.p99) | \($x.etcd.latencyMs.p50) / \($x.etcd.latencyMs.p99)"
      + " | \(r($x.flotilla.latencyMs.p50 / $x.etcd.latencyMs.p50))x / \(r($x.flotilla.latencyMs.p99 / $x.etcd.latencyMs.p99))x"
      + " | \($x.flotilla.errors | length) / \($x.etcd.errors | length) | \($x.flotilla.load) / \($x.etcd.load) |";
  . as $all | ($all | map(.mix) | unique) as $mixes
  | "| mix | concurrency | Flotilla ops/s | etcd ops/s | ratio | Flotilla p50 / p99 ms | etcd p50 / p99 ms | p50 / p99 ratio | error kinds F / e | load avg F / e |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ($all | map([.mix, .concurrency]) | unique | sort_by(.[0] != "put=100", .[1]) | .[] | row($all; .[0]; .[1]))
' "$results")"

echo
echo "$table"
echo
echo "raw results: $results"
if [[ -n "$append" ]]; then
  {
    echo
    echo "### compare-etcd.sh run of $started"
    echo
    echo '```'
    echo "$invocation"
    echo '```'
    echo
    echo "Machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)," \
      "$(java -version 2>&1 | head -1), $(etcd --version | head -1). Shared with other sessions' builds and tests;" \
      "load average (1 min) at the start of each run in the last column."
    echo
    echo "$table"
  } >>"$append"
  echo "appended to $append"
fi
