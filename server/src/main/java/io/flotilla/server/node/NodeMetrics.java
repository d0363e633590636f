package io.flotilla.server.node;

import io.flotilla.raft.Role;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.storage.WalRaftStorage;
import io.flotilla.server.admin.EventRing;
import io.flotilla.server.net.RequestHandler;
import io.flotilla.wal.WalListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * Every metric a node exports, named and documented in docs/metrics.md. The hooks are called on
 * hot threads (the WAL writer, the Raft loop, Netty): each only records into a pre-registered
 * meter, never allocates a meter or does I/O.
 */
final class NodeMetrics implements RaftNode.Listener, WalListener {

  /** The client operations timed separately. */
  enum Op { PUT, GET, DELETE, CAS, INCR, SCAN, TXN, STATUS, OTHER }

  private final Timer walForce;
  private final Timer walWrite;
  private final DistributionSummary walBatchEntries;
  private final DistributionSummary walBatchGroups;
  private final Counter walBytes;
  private final Timer raftPersist;
  private final Timer applyBatch;
  private final DistributionSummary applyBatchEntries;
  private final Counter entriesApplied;
  private final Timer proposeToApply;
  private final Timer proposeToCommit;
  private final Timer commitToApply;
  private final Counter proposals;
  private final Counter entriesCommitted;
  private final Timer readIndex;
  private final DistributionSummary readIndexBatch;
  private final Counter leaderChanges;
  private final Counter electionsStarted;
  private final Counter snapshotsTaken;
  private final Counter snapshotsInstalled;
  private final DistributionSummary snapshotBytes;
  private final Timer snapshotTake;
  private final Timer snapshotInstall;
  private final Map<Op, Timer> requests = new EnumMap<>(Op.class);
  private final Counter requestErrors;
  private final AtomicInteger inFlight = new AtomicInteger();
  private long lastLeader = -1;
  private Role lastRole;
  /** The dashboard's recent events: elections, new leaders, snapshots (rare, so cheap to record). */
  private final EventRing events;

  NodeMetrics(MeterRegistry r) {
    this(r, new EventRing(0, 1));
  }

  NodeMetrics(MeterRegistry r, EventRing events) {
    this.events = events;
    walForce = timer(r, "flotilla.wal.force", "fdatasync of one WAL group commit");
    walWrite = timer(r, "flotilla.wal.write", "write calls of one WAL group commit");
    walBatchEntries = DistributionSummary.builder("flotilla.wal.batch.entries")
        .description("entries made durable by one WAL force").publishPercentileHistogram().register(r);
    // The count of flotilla.wal.force per second is the node's forces per second: one shared log
    // for every range, so it must not grow with the number of ranges; this grows instead.
    walBatchGroups = DistributionSummary.builder("flotilla.wal.batch.groups")
        .description("Raft groups (ranges) with records in one WAL force").register(r);
    walBytes = Counter.builder("flotilla.wal.bytes").baseUnit("bytes")
        .description("bytes written to the WAL").register(r);
    raftPersist = timer(r, "flotilla.raft.persist", "one Raft round's persist: append + hard state + force");
    applyBatch = timer(r, "flotilla.raft.apply", "one apply batch into RocksDB (commit to applied)");
    applyBatchEntries = DistributionSummary.builder("flotilla.raft.apply.batch.entries")
        .description("entries per apply batch").publishPercentileHistogram().register(r);
    entriesApplied = Counter.builder("flotilla.raft.entries.applied")
        .description("committed entries applied to the state machine").register(r);
    proposeToApply = timer(r, "flotilla.raft.propose.to.apply",
        "a proposal made on this node, from propose to applied (includes replication and commit)");
    proposeToCommit = timer(r, "flotilla.raft.propose.to.commit",
        "a proposal made on this node, from propose to known committed (replication, both forces)");
    commitToApply = timer(r, "flotilla.raft.commit.to.apply",
        "committed entries, from the round that learned the commit to their apply done (persist of"
            + " that round, then the RocksDB batch); one sample per apply batch");
    proposals = Counter.builder("flotilla.raft.proposals")
        .description("proposals accepted by this node as leader").register(r);
    entriesCommitted = Counter.builder("flotilla.raft.entries.committed")
        .description("entries this node learned committed (and applied in the same round)").register(r);
    readIndex = timer(r, "flotilla.raft.read.index",
        "a linearizable read, from request to servable (ReadIndex round and apply wait)");
    readIndexBatch = DistributionSummary.builder("flotilla.raft.read.index.batch")
        .description("reads sharing one ReadIndex (a follower's request to the leader, or a leader's"
            + " own confirmation); its count is the number of ReadIndex asked")
        .publishPercentileHistogram().maximumExpectedValue(4096.0).register(r);
    leaderChanges = Counter.builder("flotilla.raft.leader.changes")
        .description("times this node saw the leader change").register(r);
    electionsStarted = Counter.builder("flotilla.raft.elections.started")
        .description("times this node became a (pre-)candidate").register(r);
    snapshotsTaken = Counter.builder("flotilla.snapshots.taken").description("snapshots taken here").register(r);
    snapshotsInstalled = Counter.builder("flotilla.snapshots.installed")
        .description("snapshots installed from a leader").register(r);
    snapshotBytes = DistributionSummary.builder("flotilla.snapshots.bytes").baseUnit("bytes")
        .description("size of snapshots taken or installed").register(r);
    snapshotTake = timer(r, "flotilla.snapshots.take", "taking a snapshot: checkpoint, pack, compact the log");
    snapshotInstall = timer(r, "flotilla.snapshots.install", "installing a leader's snapshot");
    for (Op op : Op.values()) {
      requests.put(op, Timer.builder("flotilla.client.requests").tag("op", op.name().toLowerCase())
          .description("client requests by operation, from decoded to response ready")
          .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(50_000))
          .maximumExpectedValue(Duration.ofSeconds(10)).register(r));
    }
    requestErrors = Counter.builder("flotilla.client.errors").description("client requests answered with an error")
        .register(r);
    Gauge.builder("flotilla.client.inflight", inFlight, AtomicInteger::get)
        .description("client requests received and not yet answered").register(r);
    new JvmMemoryMetrics().bindTo(r);
    new JvmGcMetrics().bindTo(r);
    new JvmThreadMetrics().bindTo(r);
    new ProcessorMetrics().bindTo(r);
  }

  private static Timer timer(MeterRegistry r, String name, String description) {
    return Timer.builder(name).description(description).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(10_000)).maximumExpectedValue(Duration.ofSeconds(10))
        .register(r);
  }

  /** Gauges read from the node when scraped. */
  static void bindNode(MeterRegistry r, RaftNode raft, WalRaftStorage storage, Path walDir) {
    gauge(r, "flotilla.raft.term", raft, RaftNode::term, "current term");
    gauge(r, "flotilla.raft.commit.index", raft, RaftNode::commitIndex, "commit index");
    gauge(r, "flotilla.raft.applied.index", raft, RaftNode::appliedIndex, "applied index");
    gauge(r, "flotilla.raft.apply.lag", raft, n -> Math.max(0, n.commitIndex() - n.appliedIndex()),
        "commit index minus applied index");
    gauge(r, "flotilla.raft.leader", raft, n -> n.isLeader() ? 1 : 0, "1 when this node is the leader");
    gauge(r, "flotilla.wal.segments", walDir, d -> walFiles(d, true), "WAL segment files");
    gauge(r, "flotilla.wal.disk.bytes", walDir, d -> walFiles(d, false), "bytes of WAL segment files on disk");
    // docs/raft.md, "Recovery after a cut": a node that lost a suffix it may have acknowledged.
    gauge(r, "flotilla.raft.recovery.fenced", storage, st -> st.recoveryFence().isUp() ? 1 : 0,
        "1 while a recovery fence is up: the log may lack entries this node acknowledged, so it grants no vote");
    gauge(r, "flotilla.wal.recovery.cut.entries", storage, st -> st.recoveryFenceAtOpen().isUp()
        ? st.recoveryFenceAtOpen().untilIndex() - st.recoveryFenceAtOpen().fromIndex() + 1 : 0,
        "entries the WAL's recovery may have cut at this start (an upper bound; 0: none)");
  }

  /** Gauges of the ranges this node hosts (read when scraped). */
  static void bindStore(MeterRegistry r, io.flotilla.server.store.Store store) {
    gauge(r, "flotilla.ranges", store, s -> s.replicas().size(), "ranges with a replica on this node");
    gauge(r, "flotilla.ranges.leader", store,
        s -> s.replicas().stream().filter(x -> x.raft().isLeader()).count(), "ranges this node leads");
    // Quiesced ranges take no ticks and send no heartbeats (docs/ranges.md).
    gauge(r, "flotilla.ranges.quiesced", store,
        s -> s.replicas().stream().filter(x -> x.raft().isQuiesced()).count(), "ranges quiesced on this node");
  }

  /** The Raft workers' busy time and rounds (worker utilization: the busy rate over the worker count). */
  static void bindScheduler(MeterRegistry r, io.flotilla.raft.node.RaftScheduler s) {
    io.micrometer.core.instrument.FunctionCounter.builder("flotilla.raft.worker.busy.seconds", s,
            x -> x.busyNanos() / 1e9)
        .description("time the Raft workers spent in rounds, all workers together").register(r);
    io.micrometer.core.instrument.FunctionCounter.builder("flotilla.raft.rounds", s, x -> x.rounds())
        .description("Raft worker rounds (each forces the log at most once for every replica in it)").register(r);
    gauge(r, "flotilla.raft.workers", s, x -> x.workerCount(), "Raft worker threads");
  }

  /** Requests a range's replica here served (reads and writes), tagged by range. */
  /** The placement driver's figures (non-zero on the system range's leader, where it runs). */
  static void bindPlacement(MeterRegistry r, io.flotilla.server.placement.PlacementDriver driver) {
    io.micrometer.core.instrument.FunctionCounter.builder("flotilla.placement.moves", driver,
        io.flotilla.server.placement.PlacementDriver::movesProposed)
        .description("placement decisions (new targets) this node's driver made").register(r);
    gauge(r, "flotilla.placement.pending.moves", driver, d -> d.view().pendingMoves(),
        "ranges whose configuration is not yet their placement target (on the driver's node)");
  }

  static void bindReplica(MeterRegistry r, io.flotilla.server.store.Replica replica) {
    String range = Long.toString(replica.groupId());
    io.micrometer.core.instrument.FunctionCounter.builder("flotilla.range.requests", replica, x -> x.writesServed())
        .tags("range", range, "kind", "write").description("requests a range's replica on this node served")
        .register(r);
    io.micrometer.core.instrument.FunctionCounter.builder("flotilla.range.requests", replica, x -> x.readsServed())
        .tags("range", range, "kind", "read").description("requests a range's replica on this node served")
        .register(r);
  }

  private static <T> void gauge(MeterRegistry r, String name, T obj, ToDoubleFunction<T> f, String description) {
    Gauge.builder(name, obj, f).description(description).register(r);
  }

  private static double walFiles(Path dir, boolean count) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().endsWith(".wal"))
          .mapToDouble(p -> count ? 1 : p.toFile().length()).sum();
    } catch (IOException e) {
      return Double.NaN;
    }
  }

  // ------------------------------------------------------------------------- WAL writer thread

  @Override
  public void onGroupCommit(int entries, int groups, long bytes, long writeNanos, long forceNanos) {
    walBatchGroups.record(groups);
    onCommit(entries, bytes, writeNanos, forceNanos);
  }

  @Override
  public void onCommit(int entries, long bytes, long writeNanos, long forceNanos) {
    walForce.record(forceNanos, TimeUnit.NANOSECONDS);
    walWrite.record(writeNanos, TimeUnit.NANOSECONDS);
    walBatchEntries.record(entries);
    walBytes.increment(bytes);
  }

  // ------------------------------------------------------------------------------ Raft loop

  @Override
  public void persisted(int entries, long nanos) {
    raftPersist.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void applied(int entries, long nanos) {
    applyBatch.record(nanos, TimeUnit.NANOSECONDS);
    applyBatchEntries.record(entries);
    entriesApplied.increment(entries);
  }

  @Override
  public void proposed() {
    proposals.increment();
  }

  @Override
  public void proposalCommitted(long nanos) {
    proposeToCommit.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void committedApplied(int entries, long nanos) {
    entriesCommitted.increment(entries);
    commitToApply.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void proposalApplied(long nanos) {
    proposeToApply.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void readReady(long nanos) {
    readIndex.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void readIndexAsked(int reads) {
    readIndexBatch.record(reads);
  }

  @Override
  public void roleChanged(Role role, long term, long leaderId) {
    if (role == Role.PRE_CANDIDATE || role == Role.CANDIDATE) {
      electionsStarted.increment();
      if (role != lastRole) {
        events.record(EventRing.ELECTION, (role == Role.PRE_CANDIDATE ? "pre-vote" : "campaign")
            + " for term " + (role == Role.PRE_CANDIDATE ? term + 1 : term) + " (no leader heard from)");
      }
    }
    if (role == Role.LEADER && lastRole != Role.LEADER) {
      events.record(EventRing.LEADER, "became leader in term " + term);
    }
    lastRole = role;
    if (leaderId != lastLeader && leaderId != 0) {
      if (lastLeader != -1) {
        leaderChanges.increment();
      }
      if (role != Role.LEADER) {
        events.record(EventRing.LEADER, "follows node " + leaderId + " in term " + term);
      }
      lastLeader = leaderId;
    }
  }

  @Override
  public void snapshotTaken(long index, long bytes, long nanos) {
    events.record(EventRing.SNAPSHOT, "snapshot taken at index " + index + " (" + bytes + " bytes), log compacted");
    snapshotsTaken.increment();
    snapshotBytes.record(bytes);
    snapshotTake.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void snapshotInstalled(long index, long bytes, long nanos) {
    events.record(EventRing.SNAPSHOT, "snapshot installed from the leader at index " + index + " (" + bytes + " bytes)");
    snapshotsInstalled.increment();
    snapshotBytes.record(bytes);
    snapshotInstall.record(nanos, TimeUnit.NANOSECONDS);
  }

  // ---------------------------------------------------------------------------- client port

  /** {@code handler}, each request timed by operation and counted (errors, in flight). */
  RequestHandler timed(RequestHandler handler) {
    return r -> {
      long started = requestStarted();
      Op op = switch (r.getOpCase()) {
        case PUT -> Op.PUT;
        case GET -> Op.GET;
        case DELETE -> Op.DELETE;
        case CAS -> Op.CAS;
        case INCR -> Op.INCR;
        case SCAN -> Op.SCAN;
        case TXN -> Op.TXN;
        case STATUS -> Op.STATUS;
        default -> Op.OTHER;
      };
      return handler.handle(r).whenComplete((resp, t) ->
          requestDone(op, started, t != null || resp == null || resp.hasError()));
    };
  }

  private long requestStarted() {
    inFlight.incrementAndGet();
    return System.nanoTime();
  }

  private void requestDone(Op op, long startNanos, boolean error) {
    inFlight.decrementAndGet();
    requests.get(op).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    if (error) {
      requestErrors.increment();
    }
  }
}
