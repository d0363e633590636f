package io.flotilla.server.node;

import io.flotilla.raft.Role;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.storage.WalRaftStorage;
import io.flotilla.server.net.PeerTransport;
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

  NodeMetrics(MeterRegistry r) {
    walForce = timer(r, "flotilla.wal.force", "fdatasync of one WAL group commit");
    walWrite = timer(r, "flotilla.wal.write", "write calls of one WAL group commit");
    walBatchEntries = DistributionSummary.builder("flotilla.wal.batch.entries")
        .description("entries made durable by one WAL force").publishPercentileHistogram().register(r);
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
          .publishPercentileHistogram().minimumExpectedValue(java.time.Duration.ofNanos(50_000))
          .maximumExpectedValue(java.time.Duration.ofSeconds(10)).register(r));
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
        .minimumExpectedValue(java.time.Duration.ofNanos(10_000)).maximumExpectedValue(java.time.Duration.ofSeconds(10))
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

  /**
   * Bytes sent to and received from each peer: {@code flotilla_peer_sent_bytes_total{peer}} and
   * {@code flotilla_peer_received_bytes_total{peer}}, registered up front for every member but
   * {@code self}; frames from a node that is not a member count under peer="other".
   */
  static void bindPeers(MeterRegistry r, PeerTransport peers, java.util.Set<Long> members, long self) {
    // Peers that join later get their series on first traffic; known ones show up at zero at once.
    Map<Long, Counter[]> byPeer = new java.util.concurrent.ConcurrentHashMap<>();
    for (long id : members) {
      if (id != self) {
        byPeer.put(id, peerCounters(r, Long.toString(id)));
      }
    }
    // Bounded: a sender id comes from the frame itself, and a garbage one must not mint series.
    java.util.function.LongFunction<Counter[]> of = id -> {
      Counter[] known = byPeer.get(id);
      if (known != null) {
        return known;
      }
      return id <= 0 || id == self || byPeer.size() >= 64
          ? byPeer.computeIfAbsent(0L, k -> peerCounters(r, "other"))
          : byPeer.computeIfAbsent(id, k -> peerCounters(r, Long.toString(k)));
    };
    peers.setTraffic(new PeerTransport.Traffic() {
      @Override
      public void sent(long peerId, int bytes) {
        of.apply(peerId)[0].increment(bytes);
      }

      @Override
      public void received(byte[] frame, int bytes) {
        of.apply(senderOf(frame))[1].increment(bytes);
      }
    });
  }

  private static Counter[] peerCounters(MeterRegistry r, String peer) {
    return new Counter[] {
        Counter.builder("flotilla.peer.sent").baseUnit("bytes").tag("peer", peer)
            .description("bytes of Raft frames (with length prefix) queued to this peer's connection").register(r),
        Counter.builder("flotilla.peer.received").baseUnit("bytes").tag("peer", peer)
            .description("bytes of Raft frames (with length prefix) received from this peer").register(r)};
  }

  /**
   * The sender of a peer frame without decoding it: a Raft message (raft.proto RaftMessage) or a
   * snapshot chunk (a 0 byte, then SnapshotChunk) both carry {@code from} as field 2, a varint,
   * after {@code group_id} (field 1). -1 when it cannot be read.
   */
  static long senderOf(byte[] frame) {
    try {
      int off = frame.length > 0 && frame[0] == 0 ? 1 : 0;
      // (offset, length): a chunk frame's body is one byte shorter than the frame. With the frame's
      // length here a short chunk was read past its end, and the exception closed the connection.
      com.google.protobuf.CodedInputStream in = com.google.protobuf.CodedInputStream.newInstance(frame, off,
          frame.length - off);
      for (int i = 0; i < 2; i++) {
        int tag = in.readTag();
        if (tag == (2 << 3)) {
          return in.readUInt64();
        }
        if (tag != (1 << 3)) {
          return -1;
        }
        in.readUInt64();
      }
      return -1;
    } catch (IOException e) {
      return -1;
    }
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
    }
    if (leaderId != lastLeader && leaderId != 0) {
      if (lastLeader != -1) {
        leaderChanges.increment();
      }
      lastLeader = leaderId;
    }
  }

  @Override
  public void snapshotTaken(long index, long bytes, long nanos) {
    snapshotsTaken.increment();
    snapshotBytes.record(bytes);
    snapshotTake.record(nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void snapshotInstalled(long index, long bytes, long nanos) {
    snapshotsInstalled.increment();
    snapshotBytes.record(bytes);
    snapshotInstall.record(nanos, TimeUnit.NANOSECONDS);
  }

  // ---------------------------------------------------------------------------- client port

  long requestStarted() {
    inFlight.incrementAndGet();
    return System.nanoTime();
  }

  void requestDone(Op op, long startNanos, boolean error) {
    inFlight.decrementAndGet();
    requests.get(op).record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    if (error) {
      requestErrors.increment();
    }
  }
}
