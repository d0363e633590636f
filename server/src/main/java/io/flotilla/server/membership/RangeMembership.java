package io.flotilla.server.membership;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.server.store.Replica;
import io.flotilla.server.store.Store;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every range follows the cluster's membership, which is the system range's configuration
 * (members join and leave through it: {@link MemberRequests}). On each round of the duties task
 * the leader of every other range moves that range's configuration one step towards the
 * cluster's: a member the range lacks is added as a learner (its replica starts as a placeholder
 * and receives the range's snapshot, docs/ranges.md); a learner the cluster has made a voter is
 * promoted once it has caught up; a member the cluster no longer has is removed. One change per
 * range at a time, each a simple (one node) change. Every node holds every range until placement
 * decides otherwise (issue 17).
 */
final class RangeMembership {
  private static final Logger LOG = LoggerFactory.getLogger(RangeMembership.class);

  private final long self;
  private final Store store;
  /** A learner this close to the leader's last index is caught up; never negative here. */
  private final long promoteGap;
  /** Ranges with a change (or the status read that decides one) in flight. */
  private final Set<Long> changing = ConcurrentHashMap.newKeySet();

  RangeMembership(long self, Store store, long promoteGap) {
    this.self = self;
    this.store = store;
    this.promoteGap = promoteGap;
  }

  /** On the duties task, on every node: the ranges this node leads follow {@code cluster}. */
  void run(Configuration cluster) {
    if (cluster.isEmpty() || cluster.isJoint()) {
      return; // the cluster's own change is under way: follow once it is final
    }
    for (Replica r : store.replicas()) {
      if (r.groupId() == Store.KV_GROUP_ID) {
        continue;
      }
      RaftNode raft = r.raft();
      Configuration cfg = raft.configuration();
      if (raft.isLeader() && !raft.isStopped() && !cfg.isEmpty() && !cfg.isJoint()) {
        step(r.groupId(), raft, cluster, cfg);
      }
    }
  }

  private void step(long range, RaftNode raft, Configuration cluster, Configuration cfg) {
    for (long m : new TreeSet<>(cluster.members())) {
      if (!cfg.isMember(m)) {
        propose(range, raft, ConfChange.of(ConfChange.addLearner(m)), "adding node " + m + " as a learner");
        return;
      }
    }
    for (long m : new TreeSet<>(cfg.members())) {
      if (!cluster.isMember(m)) {
        propose(range, raft, ConfChange.of(ConfChange.removeNode(m)), "removing node " + m
            + ", which left the cluster");
        return;
      }
    }
    TreeSet<Long> promotable = new TreeSet<>();
    for (long m : cfg.learners()) {
      if (cluster.isVoter(m)) {
        promotable.add(m);
      }
    }
    if (promotable.isEmpty() || !changing.add(range)) {
      return;
    }
    raft.status().thenCompose(rs -> {
      for (long learner : promotable) {
        long match = rs.matchIndex().getOrDefault(learner, 0L);
        if (match > 0 && match >= rs.lastIndex() - promoteGap) {
          LOG.info("node {}: range {}: node {} is a voter of the cluster and caught up (match {} of {}):"
              + " promoting it", self, range, learner, match, rs.lastIndex());
          return raft.proposeConfChange(ConfChange.of(ConfChange.addVoter(learner)));
        }
      }
      return CompletableFuture.completedFuture(null);
    }).whenComplete((c, t) -> done(range, t));
  }

  private void propose(long range, RaftNode raft, ConfChange change, String what) {
    if (!changing.add(range)) {
      return;
    }
    LOG.info("node {}: range {} follows the cluster's membership: {}", self, range, what);
    raft.proposeConfChange(change).whenComplete((c, t) -> done(range, t));
  }

  private void done(long range, Throwable t) {
    changing.remove(range);
    if (t != null) {
      LOG.debug("node {}: range {}: membership step not done: {}", self, range, t.toString());
    }
  }
}
