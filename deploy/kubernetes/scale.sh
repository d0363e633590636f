#!/usr/bin/env bash
# Scales the Flotilla StatefulSet to N pods, keeping the cluster in step (docs/placement.md):
#  - down: decommissions the nodes of the pods that will go (highest ordinals first) with
#    `bin/flotilla node decommission`, so that their replicas move to the pods that stay while
#    they still run; waits until `node list` shows each one `removed` holding nothing; then
#    scales and deletes their volumes (a removed node's id is never reused: a pod that comes back
#    later starts empty and is handed a new id);
#  - up: scales; each new pod joins through flotilla-0 with an id handed out by the cluster, and
#    the placement driver moves a share of the replicas and leaders onto it.
# Usage: deploy/kubernetes/scale.sh N   (needs kubectl and a pod with bin/flotilla: flotilla-0)
# DRAIN_TIMEOUT (seconds, default 1800) bounds the wait for each decommission.
set -euo pipefail
want=${1:?usage: scale.sh N}
have=$(kubectl get statefulset flotilla -o jsonpath='{.spec.replicas}')
flot() { kubectl exec flotilla-0 -- /opt/flotilla/bin/flotilla "$@" --endpoints flotilla-0.flotilla:7000; }
# `node list` prints: ID  ADDRESS  STATE  replicas R  leaders L  ~B bytes; then a summary line.
node_id() {  # the id of the node that advertises pod $1's client address
  flot node list | awk -v a="flotilla-$1.flotilla:7000" '$2 == a && $3 != "removed" {print $1}'
}
state_of() { flot node list | awk -v id="$1" '$1 == id {print $3, $5}'; }  # "STATE REPLICAS"
if (( want < have )); then
  rf=$(flot node list | sed -n 's/^replication factor \([0-9]*\).*/\1/p')
  if (( want < rf )); then
    echo "scale.sh: $want pods cannot hold $rf replicas of every range (bin/flotilla placement set" \
      "--replication-factor to lower it first)" >&2
    exit 1
  fi
  ids=()
  for (( ord = have - 1; ord >= want; ord-- )); do
    id=$(node_id "$ord")
    [[ -n $id ]] || { echo "scale.sh: no live node advertises flotilla-$ord.flotilla:7000" >&2; exit 1; }
    echo "decommissioning node $id (flotilla-$ord)"
    flot node decommission "$id" >/dev/null
    ids+=("$id")
  done
  # The drains run at once (each node's moves are bounded by --max-moves-per-node); wait for all.
  deadline=$(( $(date +%s) + ${DRAIN_TIMEOUT:-1800} ))
  for id in "${ids[@]}"; do
    until [[ $(state_of "$id") == "removed 0" ]]; do
      if (( $(date +%s) >= deadline )); then
        echo "scale.sh: node $id is not drained yet ($(state_of "$id")); nothing was scaled." \
          "Watch bin/flotilla node list and run scale.sh again" >&2
        exit 1
      fi
      sleep 5
    done
    echo "node $id drained and removed"
  done
  kubectl scale statefulset flotilla --replicas="$want"
  for (( ord = have - 1; ord >= want; ord-- )); do
    kubectl wait --for=delete "pod/flotilla-$ord" --timeout=120s || true
    kubectl delete pvc "data-flotilla-$ord"
  done
else
  kubectl scale statefulset flotilla --replicas="$want"
fi
flot node list
