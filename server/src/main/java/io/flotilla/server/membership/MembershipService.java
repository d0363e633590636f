package io.flotilla.server.membership;

import io.flotilla.server.store.Store;
import java.util.ArrayList;
import java.util.List;

import io.flotilla.client.proto.Request;
import io.flotilla.client.proto.Response;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.server.node.MembershipOptions;
import io.flotilla.server.node.NodeConfig;
import io.flotilla.server.store.Replica;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part in the group's membership: the duties task (every 200 ms: the leader's
 * {@link LeaderDuties}; a leaderless member's {@link RemovalCheck}), joining ({@link Joiner}),
 * the membership requests ({@link MemberRequests}), whether this node was removed, and handing
 * leadership over before a graceful stop.
 */
public final class MembershipService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MembershipService.class);

  private final NodeConfig config;
  private final RaftNode raft;
  private final ScheduledExecutorService timer;
  private final LeaderDuties leaderDuties;
  private final RemovalCheck removalCheck;
  private final MemberRequests requests;
  private final Joiner joiner;
  private final RangeMembership ranges;
  private final Store store;
  private volatile ScheduledFuture<?> duties;
  private volatile boolean closed;

  /** @param timer runs the duties task, join retries and leader polls (never blocks in them) */
  public MembershipService(NodeConfig config, MembershipOptions options, Store store, Replica replica,
      MemberDirectory directory, ScheduledExecutorService timer) {
    this.store = store;
    this.ranges = new RangeMembership(config.id(), store,
        options.promoteGap() >= 0 ? options.promoteGap() : MembershipOptions.DEFAULT_PROMOTE_GAP);
    this.config = config;
    this.raft = replica.raft();
    this.timer = timer;
    this.leaderDuties = new LeaderDuties(config.id(), replica, directory, options.promoteGap());
    this.removalCheck = new RemovalCheck(config.id(), raft, directory, () -> closed);
    this.requests = new MemberRequests(config.id(), replica, directory, timer);
    this.joiner = options.join() == null ? null : new Joiner(config, options.join(), options.incarnation(), directory, timer,
        () -> closed);
  }

  /** Once the Raft node runs: starts the duties task, and joining if this node has no configuration. */
  public void start() {
    this.duties = timer.scheduleWithFixedDelay(this::duties, 200, 200, TimeUnit.MILLISECONDS);
    if (joiner != null && raft.configuration().isEmpty()) {
      joiner.start();
    }
  }

  private void duties() {
    try {
      if (!closed && !raft.isLeader() && !raft.isStopped()) {
        removalCheck.maybeAsk();
      }
      if (!closed && !raft.isStopped()) {
        // The other ranges this node leads follow the cluster's members; a node just removed
        // removes itself from them too (and so gives up their leadership).
        ranges.run(raft.configuration());
      }
      if (closed || !raft.isLeader() || raft.isStopped()) {
        return;
      }
      leaderDuties.run();
    } catch (RuntimeException e) {
      LOG.warn("node {}: leader duties failed: {}", config.id(), e.toString());
    }
  }

  /** Whether this node was removed from the cluster (it then refuses clients and never votes). */
  public boolean isRemoved() {
    Configuration cfg = raft.configuration();
    return removalCheck.removedByCluster() || (!cfg.isEmpty() && !cfg.isMember(config.id()));
  }

  /** Whether the cluster told this node it was removed while it was away (its Raft node is stopped). */
  public boolean removedByCluster() {
    return removalCheck.removedByCluster();
  }

  /**
   * {@code member_list}, {@code transfer_leader}, {@code member_change} or {@code allocate_node_id};
   * only on the leader.
   */
  public CompletableFuture<Response> handle(Request r) {
    long id = r.getRequestId();
    if (r.hasMemberList()) {
      return requests.memberList(id, false);
    }
    if (r.hasTransferLeader()) {
      return requests.transferLeader(id, r.getTransferLeader().getTarget());
    }
    if (r.hasAllocateNodeId()) {
      return requests.allocateNodeId(id);
    }
    return requests.change(id, r.getMemberChange());
  }

  /**
   * Leaves the cluster's service to the others before stopping: a leader hands leadership to its
   * most caught-up follower and waits (up to {@code wait}) until it is gone, so clients see one
   * short redirect instead of an election timeout. Returns what happened, for the log.
   */
  public String handOffLeadership(Duration wait) {
    List<String> outcomes = new ArrayList<>();
    List<RaftNode> handed = new ArrayList<>();
    for (Replica r : store.replicas()) {
      RaftNode node = r.raft();
      try {
        if (node.isLeader() && !node.isStopped()) {
          RaftNode.Status rs = node.status().get(1, TimeUnit.SECONDS);
          long target = MemberRequests.mostCaughtUpVoter(rs, config.id());
          if (target != 0) {
            node.transferLeadership(target).get(1, TimeUnit.SECONDS);
            handed.add(node);
            outcomes.add(store.replicas().size() == 1 ? "node " + target : "node " + target + " (range " + r.groupId() + ")");
          }
        }
      } catch (Exception e) {
        outcomes.add("range " + r.groupId() + ": transfer failed: " + e);
        LOG.warn("node {}: range {}: leadership transfer before stopping failed: {}", config.id(), r.groupId(),
            e.toString());
      }
    }
    if (handed.isEmpty()) {
      return outcomes.isEmpty() ? "not the leader" : String.join("; ", outcomes);
    }
    LOG.info("node {} leads: handing leadership over before stopping: {}", config.id(), String.join(", ", outcomes));
    long deadline = System.nanoTime() + wait.toNanos();
    // Awaiting remote state changes with no event to wait on: poll the volatile roles.
    while (handed.stream().anyMatch(RaftNode::isLeader) && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
    long kept = handed.stream().filter(RaftNode::isLeader).count();
    String outcome = kept > 0 ? "leadership not handed over in time for " + kept + " of " + handed.size() + " ranges"
        : "leadership handed to " + String.join(", ", outcomes);
    LOG.info("node {}: {}", config.id(), outcome);
    return outcome;
  }

  /** Stops the duties task and any join in progress. */
  @Override
  public void close() {
    closed = true;
    var d = duties;
    if (d != null) {
      d.cancel(false);
    }
    if (joiner != null) {
      joiner.close();
    }
  }
}
