package io.flotilla.server.placement;

import io.flotilla.client.ClientOptions;
import io.flotilla.client.Endpoint;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.proto.MemberChangeRequest;
import io.flotilla.client.proto.NodeReport;
import io.flotilla.client.proto.NodeReportRequest;
import io.flotilla.client.proto.ReplicaReport;
import io.flotilla.client.proto.Request;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.server.membership.MemberDirectory;
import io.flotilla.server.membership.MembershipService;
import io.flotilla.server.store.Replica;
import io.flotilla.server.store.Store;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.MemberInfo;
import io.flotilla.storage.proto.PlacementSettings;
import io.flotilla.storage.proto.PlacementTarget;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The placement driver (docs/placement.md): runs on whichever node leads the system range, no
 * separate process. Once a second it asks every member for its report ({@link NodeReports}),
 * works out each node's state (live, suspect, dead after {@code deadAfter} without a report,
 * decommissioning), hands the {@link Planner} every range as its leader reports it, and writes the
 * planner's targets into the system range, where each range's leader follows them. It also tells
 * nodes which replicas their range's leader no longer counts (they delete them) and removes a
 * drained decommissioning node from the cluster.
 */
public final class PlacementDriver implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PlacementDriver.class);
  static final long INTERVAL_MILLIS = 1000;
  /** No report for this long: suspect (nothing moves to or from it). */
  static final long SUSPECT_AFTER_NANOS = TimeUnit.SECONDS.toNanos(4);
  /** Span records written in one round at most (for ranges the driver has not recorded yet). */
  private static final int RECORDS_PER_ROUND = 64;

  private final long self;
  private final Store store;
  private final Replica system;
  private final MemberDirectory directory;
  private final MembershipService membership;
  private final NodeReports local;
  private final long deadAfterNanos;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "placement");
    t.setDaemon(true);
    return t;
  });
  /** The driver's connections to other nodes' client ports (with the node's certificate under TLS). */
  private final FlotillaClient polls;
  // State of the current term of leadership (cleared when this node stops leading).
  private final Map<Long, NodeReport> reports = new ConcurrentHashMap<>();
  private final Map<Long, Long> lastSeen = new ConcurrentHashMap<>();
  private final Map<Long, List<io.flotilla.client.proto.DestroyReplica>> toDestroy = new ConcurrentHashMap<>();
  private final Set<Long> removing = ConcurrentHashMap.newKeySet();
  private volatile long leadingSince;
  private volatile View view = View.EMPTY;
  private final Deque<String> recent = new ArrayDeque<>();
  private long movesProposed;

  /** What the driver saw last round: for {@code node list}, /status and metrics. */
  public record View(Map<Long, NodeView> nodes, int pendingMoves, PlacementSettings settings, List<String> recent) {
    static final View EMPTY = new View(Map.of(), 0, defaults(), List.of());
  }

  public record NodeView(long id, String address, String state, int replicas, int leaders, long usedBytes) {}

  public PlacementDriver(long self, Store store, MemberDirectory directory, MembershipService membership,
      Duration deadAfter) {
    this.self = self;
    this.store = store;
    this.system = store.replica(Store.KV_GROUP_ID);
    this.directory = directory;
    this.membership = membership;
    this.local = new NodeReports(self, store);
    this.deadAfterNanos = deadAfter.toNanos();
    // Its endpoints are never used: forward() names the node each time.
    this.polls = new FlotillaClient(io.flotilla.server.tls.NodeClients.secure(ClientOptions.of("127.0.0.1:1"),
        directory.tls()));
  }

  public void start() {
    timer.scheduleWithFixedDelay(this::round, INTERVAL_MILLIS, INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
  }

  static PlacementSettings defaults() {
    return PlacementSettings.newBuilder().setReplicationFactor(Planner.Settings.DEFAULT.replicationFactor())
        .setMaxMovesPerNode(Planner.Settings.DEFAULT.maxMovesPerNode()).build();
  }

  /** The settings in the system range, or the defaults. */
  public PlacementSettings settings() {
    PlacementSettings s = system.range().placementSettings();
    return s == null ? defaults() : s;
  }

  /**
   * A range id no range ever had, for a split's new range (one past {@code above} at least): from
   * the system range's log, through its leader wherever it is.
   */
  public java.util.concurrent.CompletableFuture<Long> allocateRangeId(long above) {
    if (system.raft().isLeader()) {
      byte[] c = Command.newBuilder().setAllocateRangeId(io.flotilla.storage.proto.AllocateRangeId.newBuilder()
          .setAbove(above)).build().toByteArray();
      return system.propose(c).thenApply(a -> {
        if (a.result() == null || !a.result().hasRangeIdAllocated()) {
          throw new IllegalStateException("no range id allocated: " + a.result());
        }
        return a.result().getRangeIdAllocated().getRangeId();
      });
    }
    String address = directory.leaderHint(system.raft().leaderId());
    if (address == null) {
      return java.util.concurrent.CompletableFuture.failedFuture(new IllegalStateException(
          "the system range has no known leader to hand out a range id; retry"));
    }
    Request r = Request.newBuilder().setRequestId(1).setForwarded(true).setAllocateRangeId(
        io.flotilla.client.proto.RangeIdRequest.newBuilder().setAbove(above)).build();
    return polls.forward(Endpoint.parse(address), r).thenApply(resp -> {
      if (!resp.hasAllocateRangeId()) {
        throw new IllegalStateException("no range id from node " + system.raft().leaderId() + ": " + resp.getError());
      }
      return resp.getAllocateRangeId().getRangeId();
    });
  }

  /** This node's report (for the request of the same name). */
  public NodeReports reports() {
    return local;
  }

  /** The last round's view (empty unless this node leads the system range). */
  public View view() {
    return view;
  }

  /** Moves (target changes) this node's driver proposed since it started. */
  public synchronized long movesProposed() {
    return movesProposed;
  }

  private void round() {
    try {
      if (!system.raft().isLeader() || system.raft().isStopped()) {
        if (leadingSince != 0) {
          leadingSince = 0;
          reports.clear();
          lastSeen.clear();
          toDestroy.clear();
          view = View.EMPTY;
        }
        return;
      }
      long now = System.nanoTime();
      if (leadingSince == 0) {
        leadingSince = now; // every member gets a full dead-after from here
      }
      Configuration cluster = system.raft().configuration();
      SortedMap<Long, MemberInfo> records = system.stateMachine().members();
      poll(cluster);
      plan(now, cluster, records);
    } catch (RuntimeException e) {
      LOG.warn("node {}: placement round failed: {}", self, e.toString());
    }
  }

  /** Asks every member for its report (answers arrive for the next round). */
  private void poll(Configuration cluster) {
    for (long id : cluster.members()) {
      NodeReportRequest.Builder ask = NodeReportRequest.newBuilder()
          .addAllDestroy(toDestroy.getOrDefault(id, List.of()));
      if (id == self) {
        reports.put(id, local.answer(ask.build()));
        lastSeen.put(id, System.nanoTime());
        continue;
      }
      String address = directory.clientAddress(id);
      if (address == null) {
        continue;
      }
      Request r = Request.newBuilder().setRequestId(1).setTimeoutMs((int) INTERVAL_MILLIS).setForwarded(true)
          .setNodeReport(ask).build();
      polls.forward(Endpoint.parse(address), r).orTimeout(INTERVAL_MILLIS * 2, TimeUnit.MILLISECONDS)
          .whenComplete((resp, t) -> {
            if (t == null && resp.hasNodeReport() && resp.getNodeReport().getNodeId() == id) {
              reports.put(id, resp.getNodeReport());
              lastSeen.put(id, System.nanoTime());
            }
          });
    }
  }

  private Planner.State state(long id, long now, MemberInfo record) {
    if (record != null && record.getDecommissioning()) {
      return Planner.State.DECOMMISSIONING;
    }
    long seen = Math.max(leadingSince, lastSeen.getOrDefault(id, 0L));
    long silent = now - seen;
    return silent >= deadAfterNanos ? Planner.State.DEAD
        : silent >= SUSPECT_AFTER_NANOS ? Planner.State.SUSPECT : Planner.State.LIVE;
  }

  private void plan(long now, Configuration cluster, SortedMap<Long, MemberInfo> records) {
    PlacementSettings settings = settings();
    Map<Long, PlacementTarget> targets = system.range().placementTargets();
    Map<Long, Planner.State> states = new TreeMap<>();
    for (long id : cluster.members()) {
      states.put(id, state(id, now, records.get(id)));
    }
    // Every range as its leader reports it: the leader's configuration is the committed one.
    // Every range as its leader reports it (the leader's configuration is the committed one):
    // only reports of this round's few seconds count, and of two nodes that both claim to lead a
    // range (one was deposed and does not know yet), the one further ahead.
    Map<Long, ReplicaReport> byLeader = new TreeMap<>();
    for (NodeReport nr : reports.values()) {
      if (!cluster.isMember(nr.getNodeId()) || now - lastSeen.getOrDefault(nr.getNodeId(), 0L) >= SUSPECT_AFTER_NANOS) {
        continue;
      }
      for (ReplicaReport rr : nr.getReplicasList()) {
        if (rr.getLeaderId() == nr.getNodeId() && !rr.getPlaceholder() && rr.getRangeId() != Store.KV_GROUP_ID) {
          ReplicaReport other = byLeader.get(rr.getRangeId());
          if (other == null || rr.getCommitIndex() > other.getCommitIndex()) {
            byLeader.put(rr.getRangeId(), rr);
          }
        }
      }
    }
    // What the ranges count on each node (the system range's replica on every member included).
    Map<Long, Integer> leaders = new HashMap<>();
    Map<Long, Integer> replicas = new HashMap<>();
    for (long id : cluster.members()) {
      replicas.put(id, 1);
    }
    leaders.merge(self, 1, Integer::sum);
    for (ReplicaReport rr : byLeader.values()) {
      leaders.merge(rr.getLeaderId(), 1, Integer::sum);
      rr.getVotersList().forEach(n -> replicas.merge(n, 1, Integer::sum));
      rr.getLearnersList().forEach(n -> replicas.merge(n, 1, Integer::sum));
    }
    List<Planner.Range> ranges = new ArrayList<>();
    for (ReplicaReport rr : byLeader.values()) {
      PlacementTarget t = targets.get(rr.getRangeId());
      ranges.add(new Planner.Range(rr.getRangeId(), Set.copyOf(rr.getVotersList()), Set.copyOf(rr.getLearnersList()),
          rr.getLeaderId(), t == null ? null : new Planner.Target(Set.copyOf(t.getVotersList()), t.getPreferredLeader())));
    }
    List<Planner.Node> nodes = new ArrayList<>();
    states.forEach((id, s) -> nodes.add(new Planner.Node(id, s)));
    List<Planner.Decision> decisions = Planner.plan(nodes, ranges,
        new Planner.Settings(settings.getReplicationFactor(), settings.getMaxMovesPerNode()));
    Set<Long> decided = new TreeSet<>();
    for (Planner.Decision d : decisions) {
      ReplicaReport rr = byLeader.get(d.rangeId());
      propose(target(rr, d.target().voters(), d.target().preferredLeader()), d.reason());
      decided.add(d.rangeId());
    }
    // Routing records: a range no record names, or whose span changed (a split), gets its
    // current placement written, so that nodes without a replica can find it.
    int written = 0;
    for (ReplicaReport rr : byLeader.values()) {
      PlacementTarget t = targets.get(rr.getRangeId());
      if (decided.contains(rr.getRangeId()) || written >= RECORDS_PER_ROUND) {
        continue;
      }
      if (t == null || !t.getStartKey().equals(rr.getStartKey()) || !t.getEndKey().equals(rr.getEndKey())) {
        Set<Long> voters = t == null ? Set.copyOf(rr.getVotersList()) : Set.copyOf(t.getVotersList());
        propose(target(rr, voters, t == null ? 0 : t.getPreferredLeader()), null);
        written++;
      }
    }
    collectGarbage(byLeader);
    finishDecommissions(states, byLeader);
    publish(states, records, leaders, replicas, ranges, settings);
  }

  private static PlacementTarget target(ReplicaReport rr, Set<Long> voters, long preferred) {
    return PlacementTarget.newBuilder().setRangeId(rr.getRangeId()).setStartKey(rr.getStartKey())
        .setEndKey(rr.getEndKey()).addAllVoters(new TreeSet<>(voters)).setPreferredLeader(preferred).build();
  }

  private void propose(PlacementTarget t, String reason) {
    if (reason != null) {
      LOG.info("node {}: placement: range {}: {} -> voters {}{}", self, t.getRangeId(), reason, t.getVotersList(),
          t.getPreferredLeader() == 0 ? "" : ", led by node " + t.getPreferredLeader());
      synchronized (this) {
        movesProposed++;
        recent.addFirst("range " + t.getRangeId() + ": " + reason);
        while (recent.size() > 20) {
          recent.removeLast();
        }
      }
    }
    system.propose(Command.newBuilder().setPlacement(t).build().toByteArray()).whenComplete((a, e) -> {
      if (e != null) {
        LOG.debug("node {}: placement record of range {} not written: {}", self, t.getRangeId(), e.toString());
      }
    });
  }

  /** Replicas a node reports that their range's leader no longer counts: that node deletes them. */
  private void collectGarbage(Map<Long, ReplicaReport> byLeader) {
    toDestroy.clear();
    for (NodeReport nr : reports.values()) {
      List<io.flotilla.client.proto.DestroyReplica> gone = new ArrayList<>();
      for (ReplicaReport rr : nr.getReplicasList()) {
        ReplicaReport leader = byLeader.get(rr.getRangeId());
        if (leader != null && leader.getLeaderId() != nr.getNodeId() && !leader.getVotersList().contains(nr.getNodeId())
            && !leader.getLearnersList().contains(nr.getNodeId())) {
          gone.add(io.flotilla.client.proto.DestroyReplica.newBuilder().setRangeId(rr.getRangeId())
              .setLeaderCommit(leader.getCommitIndex()).build());
        }
      }
      if (!gone.isEmpty()) {
        toDestroy.put(nr.getNodeId(), gone);
      }
    }
  }

  /** A decommissioning node that no range counts any more leaves the cluster. */
  private void finishDecommissions(Map<Long, Planner.State> states, Map<Long, ReplicaReport> byLeader) {
    for (var e : states.entrySet()) {
      long id = e.getKey();
      if (e.getValue() != Planner.State.DECOMMISSIONING || !removing.add(id)) {
        continue;
      }
      // No range's leader counts it, and it deleted its replicas (its report shows the system
      // range alone): removed now, it would keep them forever, polled no more.
      boolean counted = byLeader.values().stream().anyMatch(rr -> rr.getVotersList().contains(id)
          || rr.getLearnersList().contains(id));
      NodeReport nr = reports.get(id);
      boolean emptied = nr != null && nr.getReplicasList().stream().allMatch(rr -> rr.getRangeId() == Store.KV_GROUP_ID);
      if (counted || !emptied) {
        removing.remove(id);
        continue;
      }
      if (id == self) {
        // The driver's own node is drained: the system range's next leader removes it.
        LOG.info("node {}: placement: this node is drained: handing the system range's leadership over", self);
        membership.handle(Request.newBuilder().setRequestId(1).setTransferLeader(
            io.flotilla.client.proto.TransferLeaderRequest.newBuilder().setTarget(0)).build())
            .whenComplete((resp, t) -> removing.remove(id));
        continue;
      }
      LOG.info("node {}: placement: node {} holds no range any more: removing it from the cluster", self, id);
      Request r = Request.newBuilder().setRequestId(1).setMemberChange(MemberChangeRequest.newBuilder()
          .setKind(MemberChangeRequest.Kind.REMOVE).setNodeId(id)).build();
      membership.handle(r).whenComplete((resp, t) -> removing.remove(id));
    }
  }

  private void publish(Map<Long, Planner.State> states, SortedMap<Long, MemberInfo> records,
      Map<Long, Integer> leaders, Map<Long, Integer> replicas, List<Planner.Range> ranges, PlacementSettings settings) {
    Map<Long, NodeView> nodes = new TreeMap<>();
    states.forEach((id, s) -> {
      NodeReport nr = reports.get(id);
      var where = directory.where(id);
      nodes.put(id, new NodeView(id, where == null || where.client() == null ? "" : where.client().toString(),
          s.name().toLowerCase(java.util.Locale.ROOT), replicas.getOrDefault(id, 0), leaders.getOrDefault(id, 0),
          nr == null ? 0 : nr.getUsedBytes()));
    });
    records.forEach((id, m) -> {
      if (m.getRemoved()) {
        nodes.put(id, new NodeView(id, m.getClientAddress(), "removed", 0, 0, 0));
      }
    });
    int pending = (int) ranges.stream().filter(Planner.Range::pending).count();
    List<String> r;
    synchronized (this) {
      r = List.copyOf(recent);
    }
    view = new View(nodes, pending, settings, r);
  }

  @Override
  public void close() {
    timer.shutdownNow();
    polls.close();
  }
}
