package io.flotilla.server.membership;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.server.node.NodeConfig;
import io.flotilla.server.store.Replica;
import io.flotilla.storage.proto.MemberInfo;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the leader does for the membership on every round of the duties task: publish the member
 * records the replicated table lacks (members from static configuration), and promote a learner
 * that has caught up to within {@code promoteGap} entries.
 */
final class LeaderDuties {
  private static final Logger LOG = LoggerFactory.getLogger(LeaderDuties.class);

  private final long self;
  private final Replica replica;
  private final MemberDirectory directory;
  private final long promoteGap;
  /** Members whose record is being proposed: one proposal each at a time. */
  private final Set<Long> publishing = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean promoting = new AtomicBoolean();

  /** @param promoteGap negative: learners are promoted only on command */
  LeaderDuties(long self, Replica replica, MemberDirectory directory, long promoteGap) {
    this.self = self;
    this.replica = replica;
    this.directory = directory;
    this.promoteGap = promoteGap;
  }

  /** On the duties task, while this node leads. */
  void run() {
    RaftNode raft = replica.raft();
    Configuration cfg = raft.configuration();
    Map<Long, MemberInfo> records = replica.stateMachine().members();
    for (long m : cfg.members()) {
      NodeConfig.Member where = directory.where(m);
      if (!records.containsKey(m) && where != null && publishing.add(m)) {
        replica.proposeMemberRecord(MemberDirectory.record(m, where, false))
            .whenComplete((i, t) -> publishing.remove(m));
      }
    }
    if (promoteGap >= 0 && !cfg.isJoint() && !cfg.learners().isEmpty() && promoting.compareAndSet(false, true)) {
      raft.status().thenCompose(rs -> {
        for (long learner : new TreeSet<>(cfg.learners())) {
          long match = rs.matchIndex().getOrDefault(learner, 0L);
          if (match > 0 && match >= rs.lastIndex() - promoteGap) {
            LOG.info("node {}: learner {} caught up (match {} of {}): promoting it to voter", self,
                learner, match, rs.lastIndex());
            return raft.proposeConfChange(ConfChange.of(ConfChange.addVoter(learner)));
          }
        }
        return CompletableFuture.completedFuture(null);
      }).whenComplete((c, t) -> {
        promoting.set(false);
        if (t != null) {
          LOG.debug("node {}: promotion not done: {}", self, t.toString());
        }
      });
    }
  }
}
