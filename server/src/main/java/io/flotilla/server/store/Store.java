package io.flotilla.server.store;

import io.flotilla.raft.HardState;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.node.RaftScheduler;
import io.flotilla.raft.node.Transport;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.storage.WalRaftStorage;
import io.flotilla.server.node.NodeConfig;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.RangeState;
import io.flotilla.storage.StorageOptions;
import io.flotilla.storage.proto.RangeDescriptor;
import io.flotilla.storage.proto.ReplicaDescriptor;
import io.flotilla.storage.proto.SplitResult;
import com.google.protobuf.ByteString;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.proto.SplitRange;
import java.util.concurrent.CompletableFuture;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalListener;
import io.flotilla.wal.WalOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's storage and the ranges it hosts (CockroachDB's Store): the RocksDB state machine of
 * every range, one {@link Replica} (a Raft group) per range, looked up by range id or by key,
 * and one scheduler and one snapshot thread for all of them (docs/ranges.md).
 *
 * <p>A new store holds one range, {@link #KV_GROUP_ID}, covering every key and carrying the member
 * records; splits make more while the node runs ({@link #split}), each its own Raft group with the
 * same replicas; placement adds replicas (as placeholders) and deletes them ({@link #destroyReplica}). Every group's log is in ONE shared write-ahead log: the scheduler writes each
 * replica's Ready unforced and forces once per round for all of them, so forces per second do
 * not grow with the number of ranges (fsync is the scarce resource).
 *
 * <p>Layout under the data directory: {@code raft/} (the shared log, records stamped with their
 * group id), {@code raft-snapshots/} (each group's snapshot metadata, {@code raft-snapshot-<id>}),
 * {@code state/} (RocksDB, all ranges).
 */
public final class Store implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Store.class);

  /**
   * The range a new cluster starts with: every key, and the member records (the system range).
   * Not 0, the value of an unset protobuf field, so a message or frame that names no group names none.
   */
  public static final long KV_GROUP_ID = KvStateMachine.DEFAULT_RANGE_ID;

  private final Path dataDir;
  private final long nodeId;
  private final KvStateMachine sm;
  /** Every replica's log. Opened after the state machine, closed after every replica stopped. */
  private final Wal wal;
  private final Map<Long, Replica> replicas = new ConcurrentHashMap<>();
  /**
   * Drives every replica's Raft group: a fixed pool of workers (one: this node's groups share a
   * disk, whose force is the scarce resource) and one timer, never a thread per group.
   */
  private final RaftScheduler scheduler;
  /** Takes snapshots of any range, off the Raft workers. */
  private final ExecutorService snapshotter;
  // Set by openReplicas: how the replicas of ranges made later are built.
  private volatile NodeConfig config;
  private volatile LongFunction<Transport> transports;
  private volatile Runnable membershipChanged;
  private volatile boolean started;
  /** Held while a replica is made (a split's, a placeholder's), so one range never gets two. */
  private final Object creating = new Object();

  private Store(Path dataDir, long nodeId, long tickMillis, KvStateMachine sm, Wal wal) {
    this.dataDir = dataDir;
    this.nodeId = nodeId;
    this.sm = sm;
    this.wal = wal;
    this.scheduler = new RaftScheduler("n" + nodeId, 1, tickMillis);
    this.snapshotter = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "snapshotter-" + nodeId);
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Opens the state machine and the shared log in {@code dataDir} (recovering both); the replicas
   * come with {@link #openReplicas}. {@code walListener} hears every force of the log.
   */
  public static Store open(Path dataDir, long nodeId, long tickMillis, WalListener walListener) throws IOException {
    KvStateMachine sm = KvStateMachine.open(dataDir.resolve("state"), StorageOptions.defaults());
    Store[] self = new Store[1];
    WalListener listener = new WalListener() {
      @Override
      public void onCommit(int entries, long bytes, long writeNanos, long forceNanos) {
        walListener.onCommit(entries, bytes, writeNanos, forceNanos);
      }

      @Override
      public void onGroupCommit(int entries, int groups, long bytes, long writeNanos, long forceNanos) {
        walListener.onGroupCommit(entries, groups, bytes, writeNanos, forceNanos);
      }

      @Override
      public void onCompactionWanted(long groupId, long liveBytes) {
        // Under the log's locks: only queue the request on the replica's worker.
        Store store = self[0];
        Replica r = store == null ? null : store.replicas.get(groupId);
        if (r != null && r.raft() != null) {
          r.raft().requestSnapshot();
        }
      }
    };
    Wal wal;
    try {
      wal = Wal.open(WalOptions.shared(walDir(dataDir)), listener);
    } catch (IOException | RuntimeException e) {
      sm.close();
      throw e;
    }
    self[0] = new Store(dataDir, nodeId, tickMillis, sm, wal);
    return self[0];
  }

  /** The directory of the node's shared Raft log (every range's). */
  public static Path walDir(Path dataDir) {
    return dataDir.resolve("raft");
  }

  /** The Raft workers' scheduler (for metrics: busy time, rounds). */
  public RaftScheduler scheduler() {
    return scheduler;
  }

  /** The directory of the node's shared Raft log (for metrics on its files). */
  public Path walDir() {
    return walDir(dataDir);
  }

  /** The node's shared Raft log. */
  public Wal wal() {
    return wal;
  }

  /** The key-value state machine (every range, member records included). */
  public KvStateMachine stateMachine() {
    return sm;
  }

  /**
   * Creates this node's replica of every range the store holds; they start with {@link #start}.
   * Returns the system range's.
   *
   * @param bootstrapVoters the system range's voters when its log holds no configuration yet
   *                        (empty: joining); a range made by a split has its configuration
   * @param transports      the transport of each group's messages to peers
   * @param membershipChanged run on the Raft loop after the member records or the configuration
   *                        may have changed
   */
  public Replica openReplicas(NodeConfig config, Set<Long> bootstrapVoters, LongFunction<Transport> transports,
      Runnable membershipChanged) throws IOException {
    this.config = config;
    this.transports = transports;
    this.membershipChanged = membershipChanged;
    for (RangeState r : sm.ranges()) {
      long id = r.id();
      Set<Long> voters = id == KV_GROUP_ID ? bootstrapVoters : Set.of();
      WalRaftStorage storage = openLog(id, r.appliedIndex() == RangeState.INITIAL_INDEX
          ? configurationOf(r.descriptor()) : null);
      replicas.put(id, replicaOver(id, voters, storage));
    }
    // A log without state in the state machine is a placeholder's (its hard state, perhaps the
    // leader's snapshot that a crash kept from being installed): it comes back as one.
    for (long id : wal.groups()) {
      if (!replicas.containsKey(id)) {
        replicas.put(id, newPlaceholder(id));
      }
    }
    return replicas.get(KV_GROUP_ID);
  }

  /**
   * This node's replica of {@code groupId}, or, when it holds none and {@code from} (a member of
   * the cluster) leads that group, a new <b>placeholder</b> for it, started; null when neither.
   *
   * <p>A leader's message for a range this node does not hold means the range was made by a split
   * this node has not applied: either it applies it soon (the split entry is still on its way),
   * or it never will (its replica of the parent caught up from a snapshot taken after the split).
   * The placeholder is a Raft replica that knows no configuration and holds no state: it neither
   * votes nor campaigns, answers the leader with an empty log, and so receives the range's
   * snapshot, which it installs once no other range here holds keys of its span; if the split
   * applies here first, the split's replica replaces it (docs/ranges.md, "Placeholders").
   * On a network thread.
   */
  public Replica replicaOrPlaceholder(long groupId, long from) {
    Replica r = replicas.get(groupId);
    if (r != null || !started || groupId <= 0) {
      return r;
    }
    Replica system = replicas.get(KV_GROUP_ID);
    if (system == null || !system.raft().configuration().isMember(from)) {
      return null;
    }
    synchronized (creating) {
      r = replicas.get(groupId);
      if (r != null) {
        return r;
      }
      try {
        r = newPlaceholder(groupId);
      } catch (IOException | RuntimeException e) {
        LOG.warn("node {}: cannot make a placeholder for range {} (told of it by node {}): {}", nodeId, groupId,
            from, e.toString());
        return null;
      }
      replicas.put(groupId, r);
      r.start();
      LOG.info("node {}: node {} leads range {}, which this node does not hold: a placeholder waits for its"
          + " snapshot (or for the split that makes it here)", nodeId, from, groupId);
      return r;
    }
  }

  private Replica newPlaceholder(long id) throws IOException {
    return replicaOver(id, Set.of(), WalRaftStorage.open(wal, id, dataDir.resolve("raft-snapshots")));
  }

  /** Range {@code id}'s replica over {@code storage} (not started), told to the range listener. */
  private Replica replicaOver(long id, Set<Long> voters, WalRaftStorage storage) throws IOException {
    Replica r = new Replica(id, config, voters, storage, sm, scheduler, snapshotter, transports.apply(id),
        membershipChanged, this::split);
    listen(id, r);
    return r;
  }


  /**
   * Opens range {@code id}'s log; a range made by a split whose log was never written (the split
   * just applied, or a crash right after it) gets the log a split starts with:
   * {@code (INITIAL_INDEX, INITIAL_TERM)} committed, in configuration {@code atSplit}.
   */
  private WalRaftStorage openLog(long id, Configuration atSplit) throws IOException {
    return initialize(WalRaftStorage.open(wal, id, dataDir.resolve("raft-snapshots")), atSplit);
  }

  /**
   * As {@link #openLog}, for a log already open. A placeholder's log may hold a hard state: its
   * term is kept if later than the split's (a term never goes back), and its vote with it (a
   * placeholder never votes, so there is none).
   */
  private static WalRaftStorage initialize(WalRaftStorage storage, Configuration atSplit) throws IOException {
    if (atSplit != null && storage.lastIndex() == 0 && storage.snapshot().index() == 0) {
      HardState prior = storage.hardState();
      storage.applySnapshot(new Snapshot(RangeState.INITIAL_INDEX, RangeState.INITIAL_TERM, new byte[0], atSplit));
      storage.setHardState(prior.term() > RangeState.INITIAL_TERM
          ? new HardState(prior.term(), prior.votedFor(), RangeState.INITIAL_INDEX)
          : new HardState(RangeState.INITIAL_TERM, 0, RangeState.INITIAL_INDEX));
      storage.sync();
    }
    return storage;
  }

  /** The voters a descriptor names (a split copies its parent's). */
  private static Configuration configurationOf(RangeDescriptor d) {
    Set<Long> voters = new TreeSet<>();
    for (ReplicaDescriptor r : d.getReplicasList()) {
      voters.add(r.getReplicaId());
    }
    return new Configuration(voters);
  }

  /**
   * On the Raft worker applying a split: the right-hand range's replica, with the parent's
   * configuration as of the split, starts here; on the node that led the parent it campaigns at
   * once, so the new range has a leader without waiting an election timeout.
   */
  private void split(SplitResult split, Configuration atSplit) {
    RangeDescriptor right = split.getRight();
    long id = right.getRangeId();
    synchronized (creating) {
      Replica placeholder = replicas.get(id);
      if (placeholder != null && placeholder.raft().configuration().isEmpty()) {
        // A leader's message made a placeholder before the split applied here: the split's
        // replica takes its place (and its log, whose term it keeps), no snapshot needed.
        placeholder.close();
        replicas.remove(id);
        LOG.info("node {}: the split making range {} applied; it replaces the range's placeholder", nodeId, id);
        createFromSplit(split, atSplit, placeholder.storage());
      } else if (placeholder == null) {
        createFromSplit(split, atSplit, null);
      }
    }
  }

  private void createFromSplit(SplitResult split, Configuration atSplit, WalRaftStorage placeholderLog) {
    RangeDescriptor right = split.getRight();
    long id = right.getRangeId();
    try {
      // The descriptor's replicas are those the split was planned with; a configuration change
      // is not accepted while a split is in flight, so they are the parent's configuration here.
      Configuration cfg = atSplit.isEmpty() ? configurationOf(right) : atSplit;
      WalRaftStorage storage = placeholderLog == null ? openLog(id, cfg) : initialize(placeholderLog, cfg);
      Replica r = replicaOver(id, Set.of(), storage);
      replicas.put(id, r);
      Replica parent = replicas.get(split.getLeft().getRangeId());
      if (started) {
        r.start();
        if (parent != null && parent.raft().isLeader()) {
          r.raft().campaign();
        }
      }
      LOG.info("node {}: range {} split at {}: range {} starts with replicas {}", nodeId,
          split.getLeft().getRangeId(), right.getStartKey().toStringUtf8(), id, cfg.members());
      if (rangeListener != null) {
        rangeListener.rangeSplit(split.getLeft().getRangeId(), id, right.getStartKey().toStringUtf8());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create range " + id + " from a split", e);
    }
  }

  /**
   * Proposes a split of {@code leader}'s range at {@code key} through the range's log, planned
   * against its current epoch and configuration; completes with the applied result (an error
   * result when the split was refused: nothing changed), or null when the result was not kept.
   * The new range id comes from the system range's allocator ({@link #setRangeIds}): never
   * used before, by any node (nodes hold different ranges: docs/placement.md).
   */
  public CompletableFuture<Result> proposeSplit(Replica leader, byte[] key) {
    RangeDescriptor d = leader.range().descriptor();
    Configuration cfg = leader.raft().configuration();
    return rangeIds.apply(largestKnownRangeId()).thenCompose(rightId -> {
      SplitRange.Builder split = SplitRange.newBuilder().setSplitKey(ByteString.copyFrom(key)).setRightRangeId(rightId)
          .setExpectedEpoch(d.getEpoch());
      for (long m : new TreeSet<>(cfg.members())) {
        split.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(m).setReplicaId(m));
      }
      byte[] command = Command.newBuilder().setSplit(split).build().toByteArray();
      return leader.propose(command).thenApply(Replica.Applied::result);
    });
  }

  /** The largest range id this node knows of: its replicas' and the placement records'. */
  public long largestKnownRangeId() {
    long max = replicas.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
    Replica system = replicas.get(KV_GROUP_ID);
    if (system != null) {
      var targets = system.range().placementTargets();
      if (!targets.isEmpty()) {
        max = Math.max(max, targets.lastKey());
      }
    }
    return max;
  }

  /**
   * Where a split's new range gets its id: a function of the largest id known here, completing
   * with an id no range ever had (the system range hands them out: docs/placement.md). Set once
   * the node's requests can reach the system range's leader.
   */
  private volatile java.util.function.LongFunction<CompletableFuture<Long>> rangeIds =
      above -> CompletableFuture.completedFuture(above + 1);

  public void setRangeIds(java.util.function.LongFunction<CompletableFuture<Long>> rangeIds) {
    this.rangeIds = java.util.Objects.requireNonNull(rangeIds);
  }

  /**
   * Deletes this node's replica of range {@code id} (placement moved it away: its range's leader
   * no longer counts it, docs/placement.md): stops its Raft group, deletes its state, then its
   * log and snapshot file (in that order: a crash between leaves a log without state, which comes
   * back as a placeholder and is deleted again). Refused for the system range, for a replica that
   * leads its range, and for one whose log goes past {@code leaderCommit} (the commit index at
   * which the range's leader counted this node out: a longer log may hold the node's re-addition,
   * and entries it acknowledged since must not vanish). Returns whether a replica was deleted.
   */
  public boolean destroyReplica(long id, long leaderCommit) throws IOException {
    if (id == KV_GROUP_ID) {
      throw new IllegalArgumentException("the system range is on every member: never deleted");
    }
    synchronized (creating) {
      Replica r = replicas.get(id);
      if (r == null || r.raft().isLeader() || r.storage().lastIndex() > leaderCommit) {
        return false;
      }
      r.close();
      if (r.storage().lastIndex() > leaderCommit) {
        // Entries arrived between the check and the stop: keep it (restarted), ask again later.
        LOG.info("node {}: range {}'s replica received entries while being deleted: kept", nodeId, id);
        Replica again = replicaOver(id, Set.of(), r.storage());
        replicas.put(id, again);
        again.start();
        return false;
      }
      replicas.remove(id);
      sm.destroyRange(id);
      r.storage().destroy();
      LOG.info("node {}: range {}'s replica is no longer counted by its range: deleted here", nodeId, id);
      RangeListener l = rangeListener;
      if (l != null) {
        l.replicaDestroyed(id);
      }
      return true;
    }
  }

  /** Told of each split this node applies, and of each range's Raft events: the dashboard's recent events. */
  public interface RangeListener {
    /** On the Raft worker that applied the split: keep it cheap. */
    void rangeSplit(long parent, long created, String atKey);

    /**
     * The Raft listener of range {@code rangeId}'s replica (not the system range's, whose
     * listener the node sets itself), or null for none.
     */
    RaftNode.Listener raftListener(long rangeId);

    /** A replica was made here (at open, by a split, as a placeholder): say, to count its requests. */
    default void replicaCreated(Replica r) {}

    /** This node's replica of range {@code id} was deleted (placement moved it elsewhere). */
    default void replicaDestroyed(long id) {}
  }

  private volatile RangeListener rangeListener;

  /** Set before {@link #openReplicas}. */
  public void setRangeListener(RangeListener listener) {
    this.rangeListener = java.util.Objects.requireNonNull(listener);
  }

  private void listen(long id, Replica r) {
    RangeListener l = rangeListener;
    if (l != null) {
      l.replicaCreated(r);
    }
    RaftNode.Listener raftListener = l == null || id == KV_GROUP_ID ? null : l.raftListener(id);
    if (raftListener != null) {
      r.raft().setListener(raftListener);
    }
  }

  /** This node's replica of {@code groupId}, or null when it holds none. Any thread. */
  public Replica replica(long groupId) {
    return replicas.get(groupId);
  }

  /** The replica of the range holding {@code key} on this node, or null. */
  public Replica replicaFor(byte[] key) {
    RangeState r = sm.rangeFor(key);
    return r == null ? null : replicas.get(r.id());
  }

  /** Every replica, in key order of their ranges. */
  public List<Replica> replicas() {
    List<Replica> out = new ArrayList<>();
    for (RangeState r : sm.ranges()) {
      Replica replica = replicas.get(r.id());
      if (replica != null) {
        out.add(replica);
      }
    }
    return out;
  }

  /**
   * The ranges this node has a placeholder for ({@link #replicaOrPlaceholder}): told of by their
   * leader, not received yet. In id order.
   */
  public List<Long> placeholderIds() {
    return replicas.keySet().stream().filter(id -> sm.range(id) == null).sorted().toList();
  }

  public Collection<Long> replicaIds() {
    return List.copyOf(replicas.keySet());
  }

  /** Starts every replica's Raft group. */
  public void start() {
    started = true;
    replicas.values().forEach(Replica::start);
  }

  /** Stops every replica (nothing is persisted or applied after this); the logs stay open. */
  public void stopReplicas() {
    replicas.values().forEach(Replica::close);
  }

  /** Stops the replicas if still running, then closes the logs and the state machine. */
  @Override
  public void close() throws IOException {
    stopReplicas();
    scheduler.close();
    snapshotter.shutdownNow();
    try {
      for (Replica r : replicas.values()) {
        r.storage().close(); // nothing: the log is shared
      }
      wal.close();
    } finally {
      sm.close();
    }
  }
}
