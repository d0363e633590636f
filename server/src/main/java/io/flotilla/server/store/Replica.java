package io.flotilla.server.store;

import io.flotilla.raft.HardState;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.node.RaftScheduler;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.node.Transport;
import io.flotilla.raft.storage.RaftStorage;
import io.flotilla.raft.storage.WalRaftStorage;
import io.flotilla.server.node.NodeConfig;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.RangeState;
import io.flotilla.storage.proto.SplitResult;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.MemberInfo;
import io.flotilla.storage.proto.Result;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * This node's member of one Raft group (CockroachDB's Replica): the group's {@link RaftNode}, the
 * applier that turns its committed entries into state-machine batches, and the plumbing that
 * hands a proposer the applied result of its own entry. It does not speak the client protocol
 * (that is {@code request.RequestService}) or decide who the members are (that is
 * {@code membership}); it only proposes and reads.
 */
public final class Replica implements AutoCloseable {
  /** The applied result of a proposal; {@code result} is null once it is no longer remembered. */
  public record Applied(long index, Result result) {}

  private final long groupId;
  private final WalRaftStorage storage;
  private final KvStateMachine sm;
  private final KvApplier applier;
  private final RaftNode raft;

  /**
   * @param voters            the group's voters for a log without a configuration (empty for a
   *                          node that joins: the leader's log or snapshot brings one)
   * @param snapshotter       where the range's snapshots are taken
   * @param transport         sends this group's messages to peers
   * @param membershipChanged run on the Raft loop after the member records or the configuration
   *                          may have changed
   * @param onSplit           a split of this range was applied here (on the Raft loop)
   */
  Replica(long groupId, NodeConfig config, Set<Long> voters, WalRaftStorage storage, KvStateMachine sm,
      RaftScheduler scheduler, Executor snapshotter, Transport transport, Runnable membershipChanged,
      BiConsumer<SplitResult, Configuration> onSplit) throws IOException {
    this.groupId = groupId;
    this.storage = storage;
    this.sm = sm;
    RangeState state = sm.range(groupId);
    // No state: a placeholder (Store#placeholder), which holds nothing until the leader's snapshot.
    long applied = state == null ? 0 : Recovery.startApplied(storage, state.appliedIndex());
    HardState hs = storage.hardState();
    if (applied > hs.commitIndex()) {
      // Applied entries are committed by definition; the log persists the commit index lazily.
      storage.setHardState(hs.withCommitIndex(applied));
    }
    this.applier = new KvApplier(sm, groupId, configurationAt(storage, applied, voters),
        () -> storage.snapshot().configuration(), snapshotter, onSplit);
    RaftConfig rc = RaftConfig.of(groupId, config.id(), voters,
        new SplittableRandom(System.nanoTime() ^ config.id() ^ groupId)).withApplied(applied);
    if (config.leaseReads()) {
      rc = rc.withLeaseRead(NodeConfig.LEASE_DRIFT_TICKS);
    }
    if (config.quiesce()) {
      rc = rc.withQuiesce(true);
    }
    // Set before the Raft node exists: building it may install a snapshot, which changes members.
    applier.onMembershipChange(membershipChanged);
    this.raft = newRaftNode(scheduler, rc, storage, transport, applier, config);
  }

  /** The group's configuration as of {@code applied}: the log's, else the bootstrap voters. */
  private static Configuration configurationAt(WalRaftStorage storage, long applied, Set<Long> voters) {
    Configuration c = applied >= storage.firstIndex() - 1 && applied <= storage.lastIndex()
        ? RaftStorage.configurationAt(storage, applied) : storage.snapshot().configuration();
    return c.isEmpty() && !voters.isEmpty() ? new Configuration(voters) : c;
  }

  /** The one place a {@link RaftNode} is made: on the store's scheduler, shared by its replicas. */
  private static RaftNode newRaftNode(RaftScheduler scheduler, RaftConfig rc, RaftStorage storage,
      Transport transport, KvApplier applier, NodeConfig config) {
    return new RaftNode(scheduler, rc, storage, transport, applier, config.tickMillis(),
        new RaftNode.SnapshotPolicy(config.snapshotEntries(), config.snapshotBytes()));
  }

  public long groupId() {
    return groupId;
  }

  /** Requests this replica served (a write proposed as leader, a read served here), since start. */
  private final java.util.concurrent.atomic.LongAdder writes = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder reads = new java.util.concurrent.atomic.LongAdder();

  private final java.util.concurrent.atomic.LongAdder writtenBytes = new java.util.concurrent.atomic.LongAdder();

  /** Counts one request served by this replica (not one forwarded elsewhere) of {@code bytes} encoded. */
  public void served(boolean write, int bytes) {
    if (write) {
      writes.increment();
      writtenBytes.add(bytes);
    } else {
      reads.increment();
    }
  }

  /** Encoded bytes of the writes this replica served as leader, since start. */
  public long writtenBytes() {
    return writtenBytes.sum();
  }

  /** A sample of the keys asked for lately: where a split by load should cut (its median). */
  private final byte[][] sampled = new byte[64][];
  private int sampledNext;

  /** Keeps about one in 16 of the keys this replica serves, the last 64 of those. */
  public void sampleKey(byte[] key) {
    if (java.util.concurrent.ThreadLocalRandom.current().nextInt(16) == 0) {
      synchronized (sampled) {
        sampled[sampledNext++ & (sampled.length - 1)] = key;
      }
    }
  }

  /** The keys sampled lately, sorted; forgotten after (a split or a quiet spell starts afresh). */
  public java.util.List<byte[]> takeSampledKeys() {
    java.util.List<byte[]> out = new java.util.ArrayList<>();
    synchronized (sampled) {
      for (int i = 0; i < sampled.length; i++) {
        if (sampled[i] != null) {
          out.add(sampled[i]);
          sampled[i] = null;
        }
      }
    }
    out.sort(java.util.Arrays::compareUnsigned);
    return out;
  }

  public long writesServed() {
    return writes.sum();
  }

  public long readsServed() {
    return reads.sum();
  }

  public RaftNode raft() {
    return raft;
  }

  /** The node's state machine (every range). */
  public KvStateMachine stateMachine() {
    return sm;
  }

  /** This range's state: its span, descriptor and applied index (reads are served from it). */
  public RangeState range() {
    return sm.range(groupId);
  }

  /** The group's durable Raft state: its log, hard state and snapshot. */
  public WalRaftStorage storage() {
    return storage;
  }

  /** The {@code "recovery"} field of {@code /status}: null unless this start followed a recovery cut. */
  public Map<String, Object> recoveryStatus() {
    return Recovery.status(storage);
  }

  void start() {
    raft.start();
  }

  /**
   * Proposes {@code command} (an encoded storage Command) and completes with its applied result:
   * the Raft loop completes a proposal right after applying it, while the applier still holds the
   * result (see {@link KvApplier}).
   */
  public CompletableFuture<Applied> propose(byte[] command) {
    return raft.propose(command).thenApply(index -> new Applied(index, applier.resultOf(index)));
  }

  /** Proposes a member record (where a member lives); completes with its log index once applied. */
  public CompletableFuture<Long> proposeMemberRecord(MemberInfo record) {
    return raft.propose(Command.newBuilder().setMember(record).build().toByteArray());
  }

  /** Stops the Raft node; the store's logs and state machine stay open. */
  @Override
  public void close() {
    raft.close();
  }
}
