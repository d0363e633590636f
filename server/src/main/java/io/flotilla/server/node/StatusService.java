package io.flotilla.server.node;

import io.flotilla.client.proto.StatusResult;
import io.flotilla.raft.Role;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.server.membership.MemberDirectory;
import io.flotilla.server.membership.MembershipService;
import io.flotilla.server.store.Replica;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The node's view of itself: the client protocol's {@code status} answer (cheap, served where it
 * is asked) and the admin port's {@code /status} JSON (docs/protocol.md, "Admin HTTP port").
 *
 * <p>{@code /status} waits up to 2 s for the Raft loop and hashes the whole state machine, so it
 * runs on a thread of its own, never on a Netty event loop: {@code /health} and {@code /metrics},
 * on the admin port's loop, answer while a big digest runs. At most {@value #MAX_QUEUED} requests
 * wait for that thread; more are refused rather than queued without bound.
 */
final class StatusService implements AutoCloseable {
  private static final int MAX_QUEUED = 16;

  private final long self;
  private final Replica replica;
  private final io.flotilla.server.store.Store store;
  private final MemberDirectory directory;
  private final MembershipService membership;
  private final ExecutorService executor;
  private final io.flotilla.server.placement.PlacementDriver placement;

  StatusService(long self, io.flotilla.server.store.Store store, Replica replica, MemberDirectory directory,
      MembershipService membership, io.flotilla.server.placement.PlacementDriver placement) {
    this.placement = placement;
    this.self = self;
    this.store = store;
    this.replica = replica;
    this.directory = directory;
    this.membership = membership;
    this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(MAX_QUEUED),
        r -> {
          Thread t = new Thread(r, "flotilla-status-" + self);
          t.setDaemon(true);
          return t;
        });
  }

  /** The answer to the client protocol's {@code status} request: volatile reads only. */
  StatusResult statusResult() {
    RaftNode raft = replica.raft();
    long leader = raft.leaderId();
    StatusResult.Builder s = StatusResult.newBuilder().setNodeId(self)
        .setRole(raft.isStopped() ? "STOPPED" : raft.role().name()).setLeaderId(leader)
        .setAppliedIndex(replica.stateMachine().appliedIndex()).setTerm(replica.storage().hardState().term());
    String client = directory.clientAddress(leader);
    if (client != null) {
      s.setLeaderClientAddress(client);
    }
    return s.build();
  }

  /**
   * The {@code /status} JSON object, built on the status thread. Fails at once (the admin port
   * answers 500) when {@value #MAX_QUEUED} requests are already waiting or the node is closing.
   */
  CompletableFuture<Object> adminStatus() {
    return adminStatus(true);
  }

  /** {@code /status} without the digest (which reads the whole state): what the dashboard polls. */
  CompletableFuture<?> adminStatusBrief() {
    return adminStatus(false);
  }

  private CompletableFuture<Object> adminStatus(boolean digest) {
    try {
      return CompletableFuture.supplyAsync(() -> adminStatusNow(digest), executor);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new IllegalStateException("node " + self + ": " + MAX_QUEUED
          + " /status requests are already waiting (or the node is closing); try again later", e));
    }
  }

  /** Status builds begun on the status thread (a test waits for one to be under way). */
  private final java.util.concurrent.atomic.AtomicLong started = new java.util.concurrent.atomic.AtomicLong();

  long statusBuildsStarted() {
    return started.get();
  }

  /** On the status thread, which may block: it serves nothing else. */
  private Map<String, Object> adminStatusNow(boolean digest) {
    started.incrementAndGet();
    RaftNode raft = replica.raft();
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("nodeId", self);
    if (raft.isStopped()) {
      s.put("role", "STOPPED");
      s.put("removed", membership.isRemoved());
      s.put("applied", replica.stateMachine().appliedIndex());
      return s;
    }
    RaftNode.Status rs;
    try {
      rs = raft.status().get(2, TimeUnit.SECONDS);
    } catch (Exception e) { // no answer in time, or the node is closing
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      s.put("role", "UNRESPONSIVE");
      return s;
    }
    fullStatus(s, rs, digest);
    return s;
  }

  private void fullStatus(Map<String, Object> s, RaftNode.Status rs, boolean digest) {
    s.put("role", rs.role().name());
    s.put("term", rs.term());
    s.put("leader", rs.leaderId());
    s.put("commit", rs.commitIndex());
    s.put("applied", replica.stateMachine().appliedIndex());
    s.put("lastLogIndex", rs.lastIndex());
    s.put("snapshotIndex", rs.snapshotIndex());
    s.put("snapshotsTaken", rs.snapshotsTaken());
    s.put("snapshotsInstalled", rs.snapshotsInstalled());
    s.put("recovery", replica.recoveryStatus());
    // Hash of the state machine: equal on every replica at the same applied index. It reads the
    // whole state: fine for an operator or a chaos check, not for a tight polling loop.
    if (digest) {
      s.put("digest", HexFormat.of().formatHex(replica.stateMachine().digest()));
    }
    Configuration cfg = rs.configuration();
    s.put("removed", !cfg.isEmpty() && !cfg.isMember(self));
    s.put("joint", cfg.isJoint());
    List<Map<String, Object>> members = new ArrayList<>();
    for (long id : new TreeSet<>(cfg.members())) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", id);
      NodeConfig.Member where = directory.where(id);
      if (where != null) {
        m.put("peer", where.peer().toString());
        if (where.client() != null) {
          m.put("client", where.client().toString());
        }
      }
      m.put("role", cfg.isVoter(id) ? "voter" : "learner");
      if (rs.role() == Role.LEADER) {
        m.put("matchIndex", rs.matchIndex().getOrDefault(id, 0L));
      }
      members.add(m);
    }
    s.put("members", members);
    s.put("ranges", ranges(digest));
    s.put("placeholders", store.placeholderIds());
    s.put("placement", placement());
  }

  /** The placement driver's last round: on the system range's leader, where it runs; else null. */
  private Map<String, Object> placement() {
    var v = placement.view();
    if (v.nodes().isEmpty()) {
      return null;
    }
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("replicationFactor", v.settings().getReplicationFactor());
    p.put("maxMovesPerNode", v.settings().getMaxMovesPerNode());
    p.put("pendingMoves", v.pendingMoves());
    p.put("movesMade", placement.movesProposed());
    List<Map<String, Object>> nodes = new ArrayList<>();
    for (var n : v.nodes().values()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", n.id());
      m.put("state", n.state());
      m.put("replicas", n.replicas());
      m.put("leaders", n.leaders());
      m.put("usedBytes", n.usedBytes());
      nodes.add(m);
    }
    p.put("nodes", nodes);
    p.put("recentMoves", v.recent());
    return p;
  }

  /**
   * Every range this node holds, in key order: its Raft group as this node sees it (its
   * configuration's voters and learners included), and its state. The digest reads the range's
   * whole state: only in the full {@code /status}, never in the brief one the dashboard polls.
   */
  private List<Map<String, Object>> ranges(boolean digest) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (var r : store.replicas()) {
      RaftNode raft = r.raft();
      var range = r.range();
      var d = range.descriptor();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("id", r.groupId());
      m.put("start", d.getStartKey().toStringUtf8());
      m.put("end", d.getEndKey().toStringUtf8());
      m.put("epochVersion", d.getEpoch().getVersion());
      m.put("role", raft.isStopped() ? "STOPPED" : raft.role().name());
      m.put("term", raft.term());
      m.put("leader", raft.leaderId());
      m.put("commit", raft.commitIndex());
      m.put("applied", range.appliedIndex());
      m.put("quiesced", raft.isQuiesced());
      m.put("writes", r.writesServed());
      m.put("reads", r.readsServed());
      Configuration cfg = raft.configuration();
      m.put("voters", new TreeSet<>(cfg.allVoters()));
      m.put("learners", cfg.members().stream().filter(cfg::isLearner).sorted().toList());
      if (digest) {
        m.put("digest", HexFormat.of().formatHex(range.digest()));
      }
      out.add(m);
    }
    return out;
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
