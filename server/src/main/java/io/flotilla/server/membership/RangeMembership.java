package io.flotilla.server.membership;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.server.store.Replica;
import io.flotilla.server.store.Store;
import io.flotilla.storage.proto.PlacementTarget;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves each range this node leads towards where placement wants it (docs/placement.md). The
 * placement driver writes a target per range into the system range (voters, preferred leader);
 * on each round of the duties task the leader of every other range takes one step towards it: a
 * target node the range lacks is added as a learner (its replica starts as a placeholder and
 * receives the range's snapshot); a learner of the target is promoted once caught up; once every
 * target voter is a voter, a voter outside the target is removed (the leader hands leadership to
 * a caught-up target voter first when it is the one leaving); a learner outside the target is
 * removed; then leadership goes to the preferred leader once it is caught up. One change per
 * range at a time, each a simple (one node) change, so a range never drops below a majority.
 *
 * <p>Whatever the target says, a member the cluster no longer has (the system range's
 * configuration) is removed first: a node removed from the cluster leaves every range.
 */
final class RangeMembership {
  private static final Logger LOG = LoggerFactory.getLogger(RangeMembership.class);
  /** Between two leadership transfers of one range towards its preferred leader. */
  private static final long TRANSFER_PAUSE_NANOS = 5_000_000_000L;
  /** A step whose answer never comes (a transfer to a node that went away) frees its range after this. */
  private static final long STEP_TIMEOUT_SECONDS = 10;

  private final long self;
  private final Store store;
  /** A learner this close to the leader's last index is caught up; never negative here. */
  private final long promoteGap;
  /** Ranges with a change (or the status read that decides one) in flight. */
  private final Set<Long> changing = ConcurrentHashMap.newKeySet();
  private final Map<Long, Long> lastTransfer = new ConcurrentHashMap<>();

  RangeMembership(long self, Store store, long promoteGap) {
    this.self = self;
    this.store = store;
    this.promoteGap = promoteGap;
  }

  /** On the duties task, on every node: the ranges this node leads follow their targets. */
  void run(Configuration cluster) {
    if (cluster.isEmpty() || cluster.isJoint()) {
      return; // the cluster's own change is under way: follow once it is final
    }
    Map<Long, PlacementTarget> targets = null;
    for (Replica r : store.replicas()) {
      if (r.groupId() == Store.KV_GROUP_ID) {
        continue;
      }
      RaftNode raft = r.raft();
      Configuration cfg = raft.configuration();
      if (raft.isLeader() && !raft.isStopped() && !cfg.isEmpty() && !cfg.isJoint() && !changing.contains(r.groupId())) {
        if (targets == null) {
          targets = store.replica(Store.KV_GROUP_ID).range().placementTargets();
        }
        step(r.groupId(), raft, cluster, cfg, targets.get(r.groupId()));
      }
    }
  }

  private void step(long range, RaftNode raft, Configuration cluster, Configuration cfg, PlacementTarget target) {
    for (long m : new TreeSet<>(cfg.members())) {
      if (!cluster.isMember(m)) {
        propose(range, raft, ConfChange.of(ConfChange.removeNode(m)), "removing node " + m + ", which left the cluster");
        return;
      }
    }
    if (target == null) {
      return;
    }
    Set<Long> want = new TreeSet<>();
    for (long n : target.getVotersList()) {
      if (cluster.isMember(n)) {
        want.add(n);
      }
    }
    if (want.isEmpty()) {
      return;
    }
    for (long n : want) {
      if (!cfg.isMember(n)) {
        propose(range, raft, ConfChange.of(ConfChange.addLearner(n)), "adding node " + n + " as a learner");
        return;
      }
    }
    for (long l : new TreeSet<>(cfg.learners())) {
      if (!want.contains(l)) {
        propose(range, raft, ConfChange.of(ConfChange.removeNode(l)), "removing learner " + l);
        return;
      }
    }
    boolean allVoters = want.stream().allMatch(cfg::isVoter);
    Set<Long> leaving = new TreeSet<>(cfg.voters());
    leaving.removeAll(want);
    long preferred = target.getPreferredLeader();
    boolean wantTransfer = allVoters && ((leaving.contains(self) && !want.contains(self))
        || (leaving.isEmpty() && preferred != 0 && preferred != self && cfg.isVoter(preferred)));
    if (allVoters && !leaving.isEmpty() && !leaving.contains(self)) {
      long out = leaving.iterator().next();
      propose(range, raft, ConfChange.of(ConfChange.removeNode(out)), "removing node " + out);
      return;
    }
    TreeSet<Long> promotable = new TreeSet<>();
    for (long m : cfg.learners()) {
      if (want.contains(m)) {
        promotable.add(m);
      }
    }
    if (promotable.isEmpty() && !wantTransfer) {
      return;
    }
    if (wantTransfer && promotable.isEmpty()) {
      Long last = lastTransfer.get(range);
      if (last != null && System.nanoTime() - last < TRANSFER_PAUSE_NANOS) {
        return;
      }
    }
    if (!changing.add(range)) {
      return;
    }
    raft.status().thenCompose(rs -> {
      for (long learner : promotable) {
        if (caughtUp(rs, learner)) {
          LOG.info("node {}: range {}: node {} caught up (match {} of {}): promoting it", self, range, learner,
              rs.matchIndex().getOrDefault(learner, 0L), rs.lastIndex());
          return raft.proposeConfChange(ConfChange.of(ConfChange.addVoter(learner))).thenApply(c -> null);
        }
      }
      if (!wantTransfer) {
        return CompletableFuture.completedFuture(null);
      }
      long to = preferred != 0 && want.contains(preferred) && preferred != self && caughtUp(rs, preferred) ? preferred : 0;
      if (to == 0 && leaving.contains(self)) {
        // Leaving: to the most caught-up target voter (never one that stopped answering).
        to = want.stream().filter(n -> n != self && cfg.isVoter(n) && caughtUp(rs, n)).max((a, b) -> Long.compare(
            rs.matchIndex().getOrDefault(a, 0L), rs.matchIndex().getOrDefault(b, 0L))).orElse(0L);
      }
      if (to == 0) {
        return CompletableFuture.completedFuture(null);
      }
      lastTransfer.put(range, System.nanoTime());
      LOG.info("node {}: range {}: handing leadership to node {} ({})", self, range, to,
          leaving.contains(self) ? "this node leaves the range" : "the preferred leader");
      return raft.transferLeadership(to);
    }).orTimeout(STEP_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS).whenComplete((c, t) -> done(range, t));
  }

  /**
   * Caught up, and heard from within about an election timeout: a node that died keeps its last
   * match index, and a transfer to it would hold the range's proposals for an election timeout
   * (then again on the next try), a promotion would count a dead voter.
   */
  private boolean caughtUp(RaftNode.Status rs, long node) {
    long match = rs.matchIndex().getOrDefault(node, 0L);
    return match > 0 && match >= rs.lastIndex() - promoteGap && rs.recentlyActive().contains(node);
  }

  private void propose(long range, RaftNode raft, ConfChange change, String what) {
    if (!changing.add(range)) {
      return;
    }
    LOG.info("node {}: range {} moves towards its placement: {}", self, range, what);
    raft.proposeConfChange(change).orTimeout(STEP_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)
        .whenComplete((c, t) -> done(range, t));
  }

  private void done(long range, Throwable t) {
    changing.remove(range);
    if (t != null) {
      LOG.debug("node {}: range {}: placement step not done: {}", self, range, t.toString());
    }
  }
}
