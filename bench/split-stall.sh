#!/usr/bin/env bash
# The split of a big range while writes run: a local 3-node cluster of one range is filled with
# about --mib MiB (4 KiB values over --mib * 256 keys), then a closed-loop put load runs over those
# keys while, --split-after seconds in, `range split` cuts the range in the middle of its keys.
# Prints the load's per-second lines (the split's second marked), the split command's own time,
# and the range list before and after; the issue's goal is writes stalled under 1 s (p99 of the
# writes during the split).
#
#   bench/split-stall.sh [--mib 100] [--concurrency 16] [--duration 20s] [--split-after 8]
#
# Ports 46600-46622; data and logs in /tmp/bench-split-*. The build must be packaged
# (./mvnw -q -B -DskipTests package). docs/benchmarks.md, "Many ranges per node".
set -euo pipefail

mib=100 concurrency=16 duration=20s split_after=8
while (( $# )); do
  case "$1" in
    --mib) mib="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --split-after) split_after="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "split-stall: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[[ "$mib" =~ ^[1-9][0-9]*$ ]] || { echo "split-stall: --mib must be a positive integer" >&2; exit 64; }
[[ "$split_after" =~ ^[1-9][0-9]*$ ]] || { echo "split-stall: --split-after must be whole seconds" >&2; exit 64; }

here="$(cd "$(dirname "$0")/.." && pwd)"
flotilla="$here/bin/flotilla"
work="$(mktemp -d /tmp/bench-split-XXXXXX)"
endpoints="127.0.0.1:46600,127.0.0.1:46610,127.0.0.1:46620"
keys=$(( mib * 256 ))
local_pid=""
stop_local() {
  if [[ -n "$local_pid" ]]; then
    kill "$local_pid" 2>/dev/null || true
    wait "$local_pid" 2>/dev/null || true
    local_pid=""
  fi
}
trap stop_local EXIT

# Splits by size off: the range must reach --mib before it is split (by hand, below).
"$flotilla" local --base-port 46600 --data-dir "$work/data" --server-arg=--range-max-bytes=0 >"$work/local.log" 2>&1 &
local_pid=$!
deadline=$(( $(date +%s) + 120 ))
until grep -q "^endpoints:" "$work/local.log"; do
  (( $(date +%s) < deadline )) || { echo "split-stall: the cluster did not start; see $work/local.log" >&2; exit 1; }
  sleep 0.2 # polling another process's output
done

echo "== filling one range with ~$mib MiB: 4 KiB values over $keys keys (data in $work)" >&2
# Uniform keys: 4x the key count in writes touches ~98% of them.
"$flotilla" bench --endpoints "$endpoints" --mix put=100 --value-size 4096 --keys "$keys" \
  --concurrency 64 --warmup 1s --duration "$(( keys * 4 / 2500 + 5 ))s" --rate 2500 >"$work/fill.log" 2>&1
tail -1 "$work/fill.log" >&2
"$flotilla" range list --endpoints "$endpoints" >&2

split_key=$(printf 'key-%010d' $(( keys / 2 )))
echo "== puts over the same keys, $concurrency in flight; range split at $split_key after ${split_after}s" >&2
"$flotilla" bench --endpoints "$endpoints" --mix put=100 --value-size 4096 --keys "$keys" \
  --concurrency "$concurrency" --warmup 2s --duration "$duration" >"$work/load.log" 2>&1 &
load_pid=$!
sleep $(( split_after + 2 )) # the load's warm-up plus the chosen offset: a schedule, not a wait for a condition
t0=$(date +%s.%N)
"$flotilla" range split --endpoints "$endpoints" "$split_key" >"$work/split.log" 2>&1
t1=$(date +%s.%N)
wait "$load_pid"
echo "split command: $(python3 -c "print(round(($t1 - $t0) * 1000))") ms, issued $(( split_after + 2 ))s after the load started (2 s of it warm-up)" >&2
cat "$work/split.log" >&2
# The load's per-second lines (its clock starts with the warm-up): the split falls in the line
# for second $(( split_after + 2 )) or the next.
grep '^t=' "$work/load.log" >&2
tail -1 "$work/load.log"
"$flotilla" range list --endpoints "$endpoints" >&2
