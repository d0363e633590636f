#!/usr/bin/env bash
# The compose cluster for real: builds the image, brings up deploy/docker-compose.yml on its
# private network and puts it through a crash, a hand-made kill, a graceful stop of the leader, a
# whole-project restart, a node coming back at a new IP, growth to five nodes (ids from the
# cluster, replicas and leaders placed onto them over eleven split ranges), the decommission of
# node5 before its container goes, and `docker-compose up --scale joiner=2` then `=1` (decommission
# first), checking after each that every acknowledged write is still there. Prints `N passed,
# M failed` last; exits non-zero on any failure. Cleans up every container, network and volume it
# made (the image it built, tagged flotilla, stays).
#
#   deploy/compose-test.sh              # builds with the Dockerfile as the README says (Maven inside)
#   deploy/compose-test.sh --prebuilt   # faster: jars from ./mvnw on the host, then exactly the
#                                       # Dockerfile's runtime stage (cut from it) around them
#   deploy/compose-test.sh --no-build   # uses the flotilla image as it is
#
# Needs a container engine (../shared/tools/container-engine.sh on the project's build machine),
# docker-compose, curl and jq, and the host ports 7000-7042 free. Not part of the README's test
# command (a few minutes with the vfs storage driver); run it before every change to deploy/.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

BUILD=dockerfile
for a in "$@"; do
  case "$a" in
    --prebuilt) BUILD=prebuilt ;;
    --no-build) BUILD=none ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "compose-test.sh: unknown argument '$a' (try --help)" >&2; exit 64 ;;
  esac
done

PROJECT=flotillacomposetest
export FLOTILLA_IMAGE=flotilla
COMPOSE=(docker-compose -p "$PROJECT" -f deploy/docker-compose.yml)
NET=${PROJECT}_flotilla
PLACEHOLDER=${PROJECT}_placeholder
# Published ports of node N (see docker-compose.yml): client 7000+10(N-1), admin +2.
client_port() { echo $((7000 + 10 * ($1 - 1))); }
admin_port() { echo $((7002 + 10 * ($1 - 1))); }
ENDPOINTS=127.0.0.1:7000,127.0.0.1:7010,127.0.0.1:7020
ENDPOINTS5=$ENDPOINTS,127.0.0.1:7030,127.0.0.1:7040
NODES=3
WORK=$(mktemp -d)
ACKED=$WORK/acked.tsv   # every write the cluster acknowledged: key<TAB>value
: >"$ACKED"

passed=0
failed=0
T0=$(date +%s.%N)
since() { printf '%.1f' "$(echo "$(date +%s.%N) - $1" | bc)"; }  # seconds since $1, one decimal
say() { printf '[%6ss] %s\n' "$(since "$T0")" "$*"; }
ok() { passed=$((passed + 1)); say "ok    $*"; }
bad() { failed=$((failed + 1)); say "FAIL  $*"; }
quietly() {  # runs a command, showing its output only if it fails
  "$@" >"$WORK/quiet.out" 2>&1 || { tail -30 "$WORK/quiet.out"; return 1; }
}
check() {  # check "what" command...: passes when the command exits 0
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

DROPPED_VOLUMES=()  # anonymous volumes of containers that `--scale` removed (it leaves them)
cleanup() {
  docker rm -fv "$PLACEHOLDER" "${PROJECT}_bench" >/dev/null 2>&1
  ((${#DROPPED_VOLUMES[@]})) && docker volume rm "${DROPPED_VOLUMES[@]}" >/dev/null 2>&1
  "${COMPOSE[@]}" --profile grow --profile scale down -v --remove-orphans >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

container() { echo "${PROJECT}_node$1_1"; }
flot() { "$REPO/bin/flotilla" "$@"; }
status() { curl -s -m 2 "http://127.0.0.1:$(admin_port "$1")/status"; }
field() { status "$1" | jq -r ".$2 // empty" 2>/dev/null; }

# The node whose /status says LEADER (among running containers), or nothing.
leader() {
  local n
  for n in $(seq 1 "$NODES"); do
    [[ $(field "$n" role) == LEADER ]] && { echo "$n"; return 0; }
  done
  return 1
}

# wait_for SECONDS command...: polls until the command succeeds (a shell script has no event to
# wait on); false when the time runs out.
wait_for() {
  local until=$(($(date +%s) + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) >= until)) && return 1
    sleep 0.5
  done
}

# put KEY VALUE through the published ports; recorded as acknowledged only when it was.
put() {
  if flot put --endpoints "$ENDPOINTS" "$1" "$2" >/dev/null 2>"$WORK/put.err"; then
    printf '%s\t%s\n' "$1" "$2" >>"$ACKED"
  else
    say "      put $1 failed: $(cat "$WORK/put.err")"
    return 1
  fi
}

put_many() {  # put_many PREFIX COUNT: all must be acknowledged
  local i
  for i in $(seq 1 "$2"); do put "$1-$i" "v-$1-$i" || return 1; done
}

# Every acknowledged write reads back with its last acknowledged value (one LINEARIZABLE scan).
all_acked_present() {  # [ENDPOINTS [CONSISTENCY]]
  local eps=${1:-$ENDPOINTS} consistency=${2:-LINEARIZABLE}
  flot scan --endpoints "$eps" --consistency "$consistency" --limit 100000 \
    >"$WORK/scan.tsv" 2>"$WORK/scan.err" || {
    say "      scan failed: $(cat "$WORK/scan.err")"; return 1; }
  scan_has_all_acked
}
# The scan in $WORK/scan.tsv holds every acknowledged write with its last acknowledged value.
scan_has_all_acked() {
  # The last acknowledged value of each key (each key is written once here, but be exact).
  awk -F'\t' '{v[$1]=$2} END {for (k in v) print k "\t" v[k]}' "$ACKED" | sort >"$WORK/want.tsv"
  sort "$WORK/scan.tsv" >"$WORK/have.tsv"
  local missing
  missing=$(comm -23 "$WORK/want.tsv" "$WORK/have.tsv" | wc -l)
  say "      $(wc -l <"$WORK/want.tsv") acknowledged keys, $missing missing or wrong"
  ((missing == 0))
}

healthy() { [[ $(docker inspect -f '{{.State.Health.Status}}' "$(container "$1")" 2>/dev/null) == healthy ]]; }
all_healthy() { local n; for n in $(seq 1 "$NODES"); do healthy "$n" || return 1; done; }
voters() { flot member list --endpoints "$ENDPOINTS" 2>/dev/null | grep -c ' voter'; }
n_voters() { [[ $(voters) == "$1" ]]; }
caught_up() {  # caught_up N: node N applied at least the leader's commit index as of now
  local l target
  l=$(leader) || return 1
  target=$(field "$l" commit)
  [[ -n $target ]] && wait_for 60 applied_at_least "$1" "$target"
}
applied_at_least() { local a; a=$(field "$1" applied); [[ -n $a ]] && ((a >= $2)); }
ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$(container "$1")"; }
last_start_applied() {  # the applied index node N's latest start recovered from its volume
  docker logs "$(container "$1")" 2>&1 | grep -o 'started: .*applied [0-9]*' | tail -1 | grep -o '[0-9]*$'
}

# ------------------------------------------------------------------------------------ image
for p in 7000 7002 7010 7012 7020 7022 7030 7032 7040 7042; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "compose-test.sh: port $p is in use; stop whatever listens there (another compose cluster?)" >&2
    exit 2
  fi
done
"${COMPOSE[@]}" --profile grow --profile scale down -v --remove-orphans >/dev/null 2>&1 # a run killed before its trap

say "building the image ($BUILD)"
b0=$(date +%s)
case $BUILD in
  dockerfile)
    # --network host: on the build machine containers have no route out except the host's.
    check "docker build -t flotilla . (Maven inside)" quietly docker build -q --network host -t flotilla . ;;
  prebuilt)
    ./mvnw -q -B -DskipTests -pl cli -am package || { bad "./mvnw package"; exit 1; }
    ctx=$WORK/context
    mkdir -p "$ctx/cli/target" "$ctx/bin"
    cp -r cli/target/lib cli/target/classes "$ctx/cli/target/"
    cp bin/flotilla "$ctx/bin/"
    # The Dockerfile's own runtime stage, its COPY --from=build reading the host's build instead.
    sed -n '/^FROM .* AS runtime$/,$p' Dockerfile | sed 's#^COPY --from=build /src/#COPY #' >"$ctx/Dockerfile"
    check "the Dockerfile's runtime stage around the host's jars" quietly docker build -q -t flotilla "$ctx" ;;
esac
say "      image built in $(($(date +%s) - b0)) s"
# The checks talk to the cluster with the host's bin/flotilla (a client like any other).
if [[ ! -d cli/target/lib ]]; then
  say "building the host's bin/flotilla (./mvnw package) for the checks"
  ./mvnw -q -B -DskipTests -pl cli -am package || { bad "./mvnw package"; exit 1; }
fi
SIZE=$(docker image inspect -f '{{.Size}}' flotilla)
say "      image size $((SIZE / 1000000)) MB (base $(($(docker image inspect -f '{{.Size}}' eclipse-temurin:17-jre) / 1000000)) MB)"
# One container for both looks: with the vfs storage driver each new container copies the image.
docker run --rm --entrypoint bash flotilla -c 'id -u; command -v javac mvn; ls -d /src 2>/dev/null' \
  >"$WORK/look.out" 2>&1
check "the image runs as a non-root user (uid 10001)" test "$(head -1 "$WORK/look.out")" = 10001
check "the image has no build tools (javac, mvn) and no sources" test "$(wc -l <"$WORK/look.out")" = 1
check "the image has a health check on /health" \
  bash -c "docker image inspect -f '{{json .Config.Healthcheck.Test}}' flotilla | grep -q /health"

# ------------------------------------------------------------------------------------- start
say "starting node1..node3 on the private network $NET"
s0=$(date +%s.%N)
"${COMPOSE[@]}" up -d >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; bad "docker-compose up"; exit 1; }
check "three containers healthy" wait_for 120 all_healthy
check "node1 bootstrapped, node2 and node3 joined by name and are voters" wait_for 60 n_voters 3
say "      cluster up (3 healthy, 3 voters) $(since "$s0") s after docker-compose up"
say "      node start: $(docker logs "$(container 2)" 2>&1 | grep -o 'state machine and log opened.*' | head -1)"
check "members name each other by service name, never by IP" \
  bash -c "flot() { '$REPO/bin/flotilla' \"\$@\"; }; flot member list --endpoints $ENDPOINTS | grep -q 'peer node3:7001  client node3:7000'"
heap=$(curl -s "http://127.0.0.1:7002/metrics" | awk 'index($0, "jvm_memory_max_bytes{area=\"heap\"") == 1 {s += $NF} END {printf "%d", s / 1048576}')
say "      node1's heap: $heap MiB under a 1 GiB container limit"
check "the JVM sizes its heap from the container's limit (about half of 1 GiB)" test "$heap" -gt 400 -a "$heap" -lt 600

check "puts through the published ports" put_many start 20
check "gets through the published ports" \
  bash -c "[[ \$('$REPO/bin/flotilla' get --endpoints $ENDPOINTS start-7) == v-start-7 ]]"
check "logs go to the container's console" bash -c "docker logs $(container 1) 2>&1 | grep -q 'node 1 started'"

# ---------------------------------------------------------- docker kill of the leader's container
old=$(leader)
oldterm=$(field "$old" term)
say "docker kill of the leader's container ($(container "$old"), term $oldterm)"
docker kill "$(container "$old")" >/dev/null
new_leader() { local l; l=$(leader) && [[ $l != "$old" ]]; }
check "a new leader among the others" wait_for 30 new_leader
say "      node $(leader) leads, term $(field "$(leader)" term)"
t=$(date +%s.%N)
check "member list through all published ports answers (the dead one is skipped)" \
  bash -c "'$REPO/bin/flotilla' member list --endpoints $ENDPOINTS >$WORK/members.out 2>&1"
say "      member list took $(since "$t") s: $(tr '\n' ';' <"$WORK/members.out" | cut -c1-150)"
check "writes continue" put_many afterkill 10
check "docker kill is a stop by hand: the restart policy leaves the container down (Docker's rule)" \
  test "$(docker inspect -f '{{.State.Running}} {{.RestartCount}}' "$(container "$old")")" = "false 0"
docker start "$(container "$old")" >/dev/null
check "started again by hand, it catches up" caught_up "$old"
check "it recovered from its volume (applied > 0 at start)" test "$(last_start_applied "$old")" -gt 0

# ------------------------------------------------------------ a crash: the JVM SIGKILLed
l=$(leader)
say "crash: SIGKILL of the leader's JVM (node $l) from the host, as the OOM killer would"
restarts=$(docker inspect -f '{{.RestartCount}}' "$(container "$l")")
kill -9 "$(docker inspect -f '{{.State.Pid}}' "$(container "$l")")"
old=$l
check "a new leader among the others" wait_for 30 new_leader
check "writes continue" put_many aftercrash 10
restarted() { [[ $(docker inspect -f '{{.State.Running}} {{.RestartCount}}' "$(container "$old")") == "true $((restarts + 1))" ]]; }
check "the restart policy (unless-stopped) restarts the crashed container" wait_for 60 restarted
check "the restarted node catches up" caught_up "$old"
check "it recovered from its volume (applied > 0 at start)" test "$(last_start_applied "$old")" -gt 0
check "every acknowledged write is there" all_acked_present

# ------------------------------------------------------------ a frozen leader: docker pause
wait_for 60 all_healthy
l=$(leader)
old=$l
say "docker pause of the leader (node $l): its published port still accepts connections, nothing answers"
docker pause "$(container "$l")" >/dev/null
# The paused node's port first, so that every call meets the silent endpoint.
FROZEN_FIRST=127.0.0.1:$(client_port "$l")
for n in 1 2 3; do [[ $n != "$l" ]] && FROZEN_FIRST+=,127.0.0.1:$(client_port "$n"); done
others_lead() { local n; for n in 1 2 3; do [[ $n != "$old" && $(field "$n" role) == LEADER ]] && return 0; done; return 1; }
check "a new leader among the others" wait_for 30 others_lead
t=$(date +%s.%N)
check "member list (read-only) moves past the silent endpoint and answers" \
  bash -c "'$REPO/bin/flotilla' member list --endpoints $FROZEN_FIRST >$WORK/members.out 2>&1"
say "      member list took $(since "$t") s (deadline 10 s, attempt timeout 2 s)"
check "a read-only request never says a write may have been applied" \
  bash -c "! grep -q 'may or may not' $WORK/members.out"
t=$(date +%s.%N)
check "a put through the same endpoints is acknowledged" \
  bash -c "'$REPO/bin/flotilla' put --endpoints $FROZEN_FIRST frozen-1 v-frozen-1 >/dev/null 2>&1"
printf 'frozen-1\tv-frozen-1\n' >>"$ACKED"
say "      put took $(since "$t") s"
docker unpause "$(container "$l")" >/dev/null
check "unpaused, the old leader catches up" caught_up "$l"

# ------------------------------------------------------------ docker stop of the leader
wait_for 60 all_healthy
l=$(leader)
term=$(field "$l" term)
say "docker stop of the leader (node $l, term $term) while a client inside the network writes"
# An in-network client (the hints it gets name containers) writing at a steady rate: the longest
# wait of one write shows whether the cluster waited for an election timeout (1-2 s at 100 ms
# ticks) or the leader handed over first.
docker run -d --name "${PROJECT}_bench" --network "$NET" --entrypoint /opt/flotilla/bin/flotilla flotilla \
  bench --endpoints node1:7000,node2:7000,node3:7000 --rate 50 --duration 14s --warmup 2s \
  --concurrency 8 --clients 1 --keys 1000 >/dev/null
sleep 6 # the bench's warm-up and a few seconds of steady writes before the stop
s0=$(date +%s.%N)
docker stop "$(container "$l")" >/dev/null
stop_s=$(since "$s0")
docker wait "${PROJECT}_bench" >/dev/null
docker logs "${PROJECT}_bench" >"$WORK/bench.out" 2>&1
docker rm -v "${PROJECT}_bench" >/dev/null
old=$l
nl=$(leader)
say "      docker stop took $stop_s s; node $nl leads at term $(field "$nl" term)"
# 143: the JVM ended by SIGTERM after its shutdown hook ran; 137 would be Docker's SIGKILL after
# the grace period.
check "the stopped leader exited on SIGTERM by itself (exit 143, not SIGKILLed: 137)" \
  test "$(docker inspect -f '{{.State.ExitCode}}' "$(container "$old")")" = 143
check "its shutdown hook ran to the end" \
  bash -c "docker logs $(container "$old") 2>&1 | grep -q 'node $old stopped (leadership handed to node'"
check "it handed leadership over before exiting" \
  bash -c "docker logs $(container "$old") 2>&1 | grep -q 'leadership handed to node'"
check "the new leader took over in the next term (one transfer, no failed elections)" \
  test "$(field "$nl" term)" = $((term + 1))
maxms=$(grep '^{' "$WORK/bench.out" | tail -1 | jq -r '.latencyMs.max')
errors=$(grep '^{' "$WORK/bench.out" | tail -1 | jq -r '[.errors[]] | add // 0')
say "      in-network writer: longest write ${maxms:-?} ms, ${errors:-?} errors"
check "no write waited an election timeout (longest < 1000 ms) and none failed" \
  bash -c "[[ -n '$maxms' ]] && awk 'BEGIN {exit !($maxms < 1000)}' && [[ '$errors' == 0 ]]"
docker start "$(container "$old")" >/dev/null
check "the stopped node starts again and catches up" caught_up "$old"

# ------------------------------------------------------------ the whole project down and up
say "the whole project down (containers and network removed, volumes kept) and up again"
"${COMPOSE[@]}" down >/dev/null 2>&1
check "down: no container of the project is left" \
  test -z "$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")"
"${COMPOSE[@]}" up -d >/dev/null 2>&1
check "up again: three containers healthy" wait_for 120 all_healthy
check "a leader" wait_for 60 leader
check "every acknowledged write is there" all_acked_present

# ------------------------------------------------------------ a new IP under the same name
n=2
[[ $(leader) == 2 ]] && n=3
ip0=$(ip_of "$n")
say "node $n (at $ip0) stops; another container takes its address; node $n starts again"
docker stop "$(container "$n")" >/dev/null
docker run -d --name "$PLACEHOLDER" --network "$NET" --entrypoint sleep flotilla 600 >/dev/null
say "      the placeholder got $(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$PLACEHOLDER")"
check "writes continue without node $n" put_many newip 10
docker start "$(container "$n")" >/dev/null
ip1=$(ip_of "$n")
say "      node $n is now at $ip1"
check "node $n's IP changed across the restart" test "$ip0" != "$ip1"
check "the others find it by name: it catches up" caught_up "$n"
lead_n() { [[ $(leader) == "$n" ]]; }
check "leadership moves to it (its peers reach its new address)" \
  bash -c "'$REPO/bin/flotilla' member transfer-leader $n --endpoints $ENDPOINTS >/dev/null 2>&1"
check "it leads" wait_for 20 lead_n
check "writes through it commit" put_many newipleader 5
docker rm -fv "$PLACEHOLDER" >/dev/null

# ------------------------------------------------------------ ranges to place
# Splits at keys the test wrote, so that there is something for the placement driver to move:
# twelve ranges, all on node1..node3 (range 1, the system range on every node, keeps the first keys).
SPLITS=(aftercrash-5 afterkill-1 afterkill-6 frozen-1 grown-1 newip-1 newip-6 newipleader-1 start-1 start-2 start-5)
say "splitting the keys into $((${#SPLITS[@]} + 1)) ranges (bin/flotilla range split, published ports)"
split_all() { local k; for k in "${SPLITS[@]}"; do flot range split --endpoints "$ENDPOINTS" "$k" >/dev/null || return 1; done; }
check "${#SPLITS[@]} splits" quietly split_all
check "writes continue across the ranges" put_many split 10
check "every acknowledged write is there" all_acked_present

# ------------------------------------------------------------ growth: node4 and node5
# The placement driver's view, through the published client ports.
nodes_json() { flot node list --json --endpoints "$ENDPOINTS" 2>/dev/null; }
node_list() { flot node list --endpoints "$ENDPOINTS" 2>&1 | sed 's/^/      /'; }
id_at() { nodes_json | jq -r --arg a "$1" '.nodes[] | select(.address == $a) | .id'; }  # id_at node5:7000
# has_share ADDRESS MIN_REPLICAS MIN_LEADERS: the node at ADDRESS is live with at least that much.
has_share() {
  nodes_json | jq -e --arg a "$1" --argjson r "$2" --argjson l "$3" \
    '[.nodes[] | select(.address == $a and .state == "live" and .replicas >= $r and .leaders >= $l)] | length == 1' >/dev/null
}
both_have_share() { has_share node4:7000 2 1 && has_share node5:7000 2 1; }
# all_live_with N MIN_REPLICAS: exactly N nodes are live, each with at least MIN_REPLICAS replicas.
all_live_with() {
  nodes_json | jq -e --argjson n "$1" --argjson r "$2" \
    '[.nodes[] | select(.state == "live")] | length == $n and all(.replicas >= $r)' >/dev/null
}
# removed_empty ID: node list shows node ID removed from the cluster, holding nothing.
removed_empty() {
  nodes_json | jq -e --argjson id "$1" '[.nodes[] | select(.id == $id and .state == "removed" and .replicas == 0)] | length == 1' >/dev/null
}

say "growth: node4 and node5 (profile grow) join by name, with ids from the cluster"
g0=$(date +%s.%N)
"${COMPOSE[@]}" --profile grow up -d node4 node5 >/dev/null 2>&1
NODES=5
ENDPOINTS=$ENDPOINTS5
check "five containers healthy" wait_for 120 all_healthy
check "node4 and node5 joined and were promoted: 5 voters of the system range" wait_for 90 n_voters 5
check "node4 and node5 took ids handed out by the cluster (none given)" \
  bash -c "docker logs $(container 4) 2>&1 | grep -q 'handed out by the cluster' && docker logs $(container 5) 2>&1 | grep -q 'handed out by the cluster'"
say "      node4 is node $(id_at node4:7000), node5 is node $(id_at node5:7000)"
check "node4 and node5 each hold >= 2 replicas and lead >= 1 range (node list, within 180 s)" \
  wait_for 180 both_have_share
GROW_S=$(since "$g0")
say "      node4 and node5 held their share $GROW_S s after docker-compose up:"
node_list
check "all five nodes live, each with >= 2 replicas" all_live_with 5 2
check "writes continue" put_many grown 10
check "every acknowledged write is there" all_acked_present
# Through a new node alone, from a client inside the network: node4 holds only some ranges and
# leads fewer; the others' leaders are reached by the hints and addresses the cluster gives, which
# name containers. (From the host, one published port alone does not do: those names do not
# resolve there, so the client has only that endpoint to retry; see deploy/README.md.)
in_network_scan_through_node4() {
  docker run --rm --network "$NET" --entrypoint /opt/flotilla/bin/flotilla flotilla scan \
    --endpoints node4:7000 --consistency LINEARIZABLE --limit 100000 >"$WORK/scan.tsv" 2>"$WORK/scan.err" || {
    say "      scan failed: $(tail -3 "$WORK/scan.err")"; return 1; }
  scan_has_all_acked
}
check "every acknowledged write reads back through node4 alone (a client inside the network)" \
  in_network_scan_through_node4

# ------------------------------------------------------------ shrink: decommission node5 first
id5=$(id_at node5:7000)
say "shrink: bin/flotilla node decommission $id5 (node5), then stop and remove its container"
d0=$(date +%s.%N)
check "decommission of node $id5 accepted" quietly flot node decommission --endpoints "$ENDPOINTS" "$id5"
check "node list shows node $id5 removed with 0 replicas (within 300 s)" wait_for 300 removed_empty "$id5"
DECOM_S=$(since "$d0")
say "      node $id5 drained and removed in $DECOM_S s:"
node_list
"${COMPOSE[@]}" --profile grow stop node5 >/dev/null 2>&1
"${COMPOSE[@]}" --profile grow rm -f node5 >/dev/null 2>&1
check "node5's container is gone" test -z "$("${COMPOSE[@]}" --profile grow ps -q node5 2>/dev/null)"
NODES=4
ENDPOINTS=127.0.0.1:7000,127.0.0.1:7010,127.0.0.1:7020,127.0.0.1:7030
check "4 voters of the system range left" wait_for 30 n_voters 4
check "the four others live, each with >= 2 replicas" all_live_with 4 2
check "writes continue without node5" put_many shrunk 10
check "every acknowledged write is there" all_acked_present

# ------------------------------------------------------------ docker-compose up --scale joiner=N
SCALE=(docker-compose -p "$PROJECT" -f deploy/docker-compose.yml --profile scale)
joiner() { echo "${PROJECT}_joiner_$1"; }
joiner_addr() { echo "$(docker inspect -f '{{.Config.Hostname}}' "$(joiner "$1")"):7000"; }
joiner_healthy() { [[ $(docker inspect -f '{{.State.Health.Status}}' "$(joiner "$1")" 2>/dev/null) == healthy ]]; }
joiners_healthy() { joiner_healthy 1 && joiner_healthy 2; }
say "scale: docker-compose --profile scale up -d --scale joiner=2 (no id, no fixed port, named by hostname)"
j0=$(date +%s.%N)
"${SCALE[@]}" up -d --scale joiner=2 joiner >"$WORK/scale.log" 2>&1 || cat "$WORK/scale.log"
check "two joiner containers healthy" wait_for 120 joiners_healthy
J1=$(joiner_addr 1)
J2=$(joiner_addr 2)
say "      joiner_1 advertises $J1 (published $(docker port "$(joiner 1)" 7000)), joiner_2 $J2"
joiners_have_share() { has_share "$J1" 2 0 && has_share "$J2" 2 0; }
check "both joiners live in node list, each with >= 2 replicas (within 180 s)" wait_for 180 joiners_have_share
SCALE_S=$(since "$j0")
say "      the joiners held >= 2 replicas each $SCALE_S s after docker-compose up --scale:"
node_list
check "six nodes live" all_live_with 6 2
check "writes continue" put_many scaled 10
check "every acknowledged write is there" all_acked_present
idj2=$(id_at "$J2")
say "scale down: decommission joiner_2 (node $idj2), then docker-compose up --scale joiner=1"
d0=$(date +%s.%N)
check "decommission of node $idj2 accepted" quietly flot node decommission --endpoints "$ENDPOINTS" "$idj2"
check "node list shows node $idj2 removed with 0 replicas (within 300 s)" wait_for 300 removed_empty "$idj2"
DECOM2_S=$(since "$d0")
say "      node $idj2 drained and removed in $DECOM2_S s"
# Compose removes the container but not its anonymous /data volume: that is left to us.
DROPPED_VOLUMES+=($(docker inspect -f '{{range .Mounts}}{{.Name}} {{end}}' "$(joiner 2)"))
"${SCALE[@]}" up -d --scale joiner=1 joiner >"$WORK/scale.log" 2>&1 || cat "$WORK/scale.log"
only_joiner_1() { ! docker inspect "$(joiner 2)" >/dev/null 2>&1 && joiner_healthy 1; }
check "--scale joiner=1 removed joiner_2 (the highest number) and kept joiner_1" only_joiner_1
check "joiner_2's volume, left by compose, removed (its node id is never reused)" \
  quietly docker volume rm "${DROPPED_VOLUMES[@]}"
DROPPED_VOLUMES=()
check "five nodes live" all_live_with 5 2
check "writes continue" put_many unscaled 10
check "every acknowledged write is there" all_acked_present

say "figures: node4/node5 held their share ${GROW_S} s after up; node5's decommission took ${DECOM_S} s;"
say "         two joiners held >= 2 replicas each ${SCALE_S} s after up --scale; joiner_2's decommission ${DECOM2_S} s"
say "         load average: $(cut -d' ' -f1-3 /proc/loadavg)"
say "$(wc -l <"$ACKED") writes acknowledged in all"
echo "$passed passed, $failed failed"
((failed == 0))
