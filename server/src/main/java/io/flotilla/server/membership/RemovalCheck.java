package io.flotilla.server.membership;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.FlotillaClient;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.quorum.Configuration;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node that was down or cut off while it was removed never receives the entry that removes
 * it (the leader replicates only to members), so it would go on believing it is a voter:
 * campaigning in vain and taking client requests it can never serve. Without a leader for a
 * while, it asks the cluster through the other members' client ports for the member list, whose
 * removed ids come from the replicated tombstones (ids are never reused, so this is never a
 * member's own id by mistake). Listed there, it stops its Raft node and refuses clients like a
 * node that applied its own removal.
 */
final class RemovalCheck {
  private static final Logger LOG = LoggerFactory.getLogger(RemovalCheck.class);
  private static final long CHECK_AFTER_NANOS = TimeUnit.SECONDS.toNanos(3);
  private static final long CHECK_EVERY_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final long self;
  private final RaftNode raft;
  private final MemberDirectory directory;
  private final BooleanSupplier closed;
  private final AtomicBoolean inFlight = new AtomicBoolean();
  /** Told by the cluster that this node was removed while it was away. */
  private volatile boolean removedByCluster;
  // Touched only by the duties task:
  private long leaderlessSinceNanos;
  private long lastCheckNanos;

  RemovalCheck(long self, RaftNode raft, MemberDirectory directory, BooleanSupplier closed) {
    this.self = self;
    this.raft = raft;
    this.directory = directory;
    this.closed = closed;
  }

  boolean removedByCluster() {
    return removedByCluster;
  }

  /** On the duties task, while this node does not lead: asks once it has had no leader for a while. */
  void maybeAsk() {
    Configuration cfg = raft.configuration();
    if (removedByCluster || raft.leaderId() != 0 || cfg.isEmpty() || !cfg.isMember(self)) {
      leaderlessSinceNanos = 0;
      return;
    }
    long now = System.nanoTime();
    if (leaderlessSinceNanos == 0) {
      leaderlessSinceNanos = now;
      return;
    }
    if (now - leaderlessSinceNanos < CHECK_AFTER_NANOS
        || (lastCheckNanos != 0 && now - lastCheckNanos < CHECK_EVERY_NANOS)) {
      return;
    }
    String endpoints = directory.otherClientEndpoints();
    if (endpoints.isEmpty() || !inFlight.compareAndSet(false, true)) {
      return;
    }
    lastCheckNanos = now;
    var client = new FlotillaClient(io.flotilla.server.tls.NodeClients.secure(
        ClientOptions.of(endpoints).withRequestTimeout(Duration.ofSeconds(3)), directory.tls()));
    client.members().whenComplete((list, t) -> {
      try {
        if (t == null && list.getRemovedIdsList().contains(self) && !closed.getAsBoolean()) {
          LOG.warn("node {} was removed from the cluster while it was away (leader {} lists it as removed):"
              + " stopping its Raft node; clients are refused", self, list.getLeaderId());
          removedByCluster = true;
          raft.close();
        } else if (t != null) {
          LOG.debug("node {}: no leader, and asking the others whether it was removed failed: {}", self,
              t.toString());
        }
      } finally {
        inFlight.set(false);
        CompletableFuture.runAsync(client::close); // not from the client's own event loop
      }
    });
  }
}
