package io.flotilla.server.store;

import io.flotilla.raft.node.RaftScheduler;
import io.flotilla.raft.node.Transport;
import io.flotilla.raft.storage.WalRaftStorage;
import io.flotilla.server.node.NodeConfig;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.StorageOptions;
import io.flotilla.wal.WalListener;
import io.flotilla.wal.WalOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A node's storage and the Raft groups it hosts (CockroachDB's Store): the write-ahead log, the
 * RocksDB state machine, and one {@link Replica} per group, looked up by group id (peer frames
 * and client requests are routed through {@link #replica}).
 *
 * <p>One group today, {@link #KV_GROUP_ID}, holding the whole key space and the member records;
 * the log and the state machine are that group's. The map is real so that hosting many groups
 * changes what is in it, not who asks it.
 *
 * <p>Layout under the data directory: {@code raft/} (the log, its records stamped with the group
 * id), {@code state/} (RocksDB), {@code snapshots/} (snapshots in the making).
 */
public final class Store implements AutoCloseable {
  /**
   * The Raft group of the key space and the member records: the only group today. Not 0, the
   * value of an unset protobuf field, so a message or frame that names no group names none.
   */
  public static final long KV_GROUP_ID = 1;

  private final Path dataDir;
  private final WalRaftStorage storage;
  private final KvStateMachine sm;
  private final Map<Long, Replica> replicas = new ConcurrentHashMap<>();
  /**
   * Drives every replica's Raft group: a fixed pool of workers (one: this node's groups share a
   * log, whose force is the scarce resource) and one timer, never a thread per group.
   */
  private final RaftScheduler scheduler;

  private Store(Path dataDir, WalRaftStorage storage, KvStateMachine sm, RaftScheduler scheduler) {
    this.dataDir = dataDir;
    this.storage = storage;
    this.sm = sm;
    this.scheduler = scheduler;
  }

  /**
   * Opens the log (stamped with {@link #KV_GROUP_ID}, so log and Raft agree on the group; a log
   * written under another group id does not open) and the state machine in {@code dataDir}.
   */
  public static Store open(Path dataDir, long nodeId, long tickMillis, WalListener walListener)
      throws IOException {
    WalRaftStorage storage = WalRaftStorage.open(
        WalOptions.defaults(dataDir.resolve("raft")).withGroupId(KV_GROUP_ID), walListener);
    try {
      KvStateMachine sm = KvStateMachine.open(dataDir.resolve("state"), StorageOptions.defaults());
      return new Store(dataDir, storage, sm, new RaftScheduler("n" + nodeId, 1, tickMillis));
    } catch (IOException | RuntimeException e) {
      storage.close();
      throw e;
    }
  }

  /** The directory of the group's log (for metrics on its files). */
  public Path walDir() {
    return dataDir.resolve("raft");
  }

  /** The key-value state machine (member records included). */
  public KvStateMachine stateMachine() {
    return sm;
  }

  /**
   * Creates this node's replica of {@code groupId} over the store's log and state machine; it
   * starts with {@link #start}.
   *
   * @param voters the group's voters when its log holds no configuration yet (empty: joining)
   */
  public Replica addReplica(long groupId, NodeConfig config, Set<Long> voters, Transport transport,
      Runnable membershipChanged) throws IOException {
    if (groupId != KV_GROUP_ID || replicas.containsKey(groupId)) {
      // One log and one state machine, both the key-value group's: another group needs its own.
      throw new IllegalStateException("this store holds group " + KV_GROUP_ID + " only; asked for " + groupId);
    }
    Replica r = new Replica(groupId, config, voters, storage, sm, scheduler, transport, membershipChanged);
    replicas.put(groupId, r);
    return r;
  }

  /** This node's replica of {@code groupId}, or null when it holds none. Any thread. */
  public Replica replica(long groupId) {
    return replicas.get(groupId);
  }

  public Collection<Replica> replicas() {
    return List.copyOf(replicas.values());
  }

  /** Starts every replica's Raft node. */
  public void start() {
    replicas.values().forEach(Replica::start);
  }

  /** Stops every replica (nothing is persisted or applied after this); the log stays open. */
  public void stopReplicas() {
    replicas.values().forEach(Replica::close);
  }

  /** Stops the replicas if still running, then closes the log and the state machine. */
  @Override
  public void close() throws IOException {
    stopReplicas();
    scheduler.close();
    storage.close();
    sm.close();
  }
}
