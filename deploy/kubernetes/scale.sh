#!/usr/bin/env bash
# Scales the Flotilla StatefulSet to N pods, keeping Raft membership in step:
#  - down: removes the members of the pods that will go (highest ordinals first) through the
#    membership API, then scales, then deletes their volumes (a removed id is never reused);
#  - up: scales; new pods join as learners and the leader promotes them once caught up.
# Usage: deploy/kubernetes/scale.sh N   (needs kubectl and a pod with bin/flotilla: flotilla-0)
set -euo pipefail
want=${1:?usage: scale.sh N}
have=$(kubectl get statefulset flotilla -o jsonpath='{.spec.replicas}')
flot() { kubectl exec flotilla-0 -- /opt/flotilla/bin/flotilla "$@" --endpoints flotilla-0.flotilla:7000; }
if (( want < have )); then
  for (( ord = have - 1; ord >= want; ord-- )); do
    id=$(kubectl exec "flotilla-$ord" -- cat /data/node-id)
    echo "removing member $id (flotilla-$ord)"
    flot member remove "$id"
  done
  kubectl scale statefulset flotilla --replicas="$want"
  for (( ord = have - 1; ord >= want; ord-- )); do
    kubectl wait --for=delete "pod/flotilla-$ord" --timeout=120s || true
    kubectl delete pvc "data-flotilla-$ord"
  done
else
  kubectl scale statefulset flotilla --replicas="$want"
fi
flot member list
