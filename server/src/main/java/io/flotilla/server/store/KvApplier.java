package io.flotilla.server.store;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.node.StateMachine;
import io.flotilla.raft.ConfEntry;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.storage.CommittedCommand;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.RangeSnapshots;
import io.flotilla.storage.RangeState;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.proto.SplitResult;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies one range's committed entries to its {@link RangeState} in the node's RocksDB and keeps
 * each result until the request waiting for it picks it up. The Raft driver completes a proposal's
 * future right after applying its entry, on the same thread, so results live in a small ring
 * indexed by log index; entries proposed on other nodes simply overwrite their slot later. The
 * ring starts small and grows to the largest apply batch seen: a node holds one applier per range,
 * and a fixed 64 Ki-slot ring (768 KiB) each ran a node of 640 ranges out of a 512 MiB heap.
 *
 * <p>Snapshots are the range's own ({@link RangeState#snapshot}: its key span and range-local
 * state), taken on the store's snapshot thread while the Raft loop keeps applying; installing one
 * from the leader replaces exactly this range, atomically ({@link RangeState#install}).
 *
 * <p>A split applied here hands the new right-hand range to the store, with this range's Raft
 * configuration as of the split entry (both halves keep the same replicas).
 */
final class KvApplier implements StateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(KvApplier.class);

  /** Thrown when the state machine cannot apply: the node must stop, not skip an entry. */
  static final class ApplyFailed extends Error {
    private static final long serialVersionUID = 1L;

    ApplyFailed(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static final int FIRST_RING = 1 << 8;
  private static final int MAX_RING = 1 << 16;
  private static final byte[] EMPTY = new byte[0];
  private final KvStateMachine sm;
  private final long rangeId;
  // A power of two; guarded by this.
  private long[] indexes = new long[FIRST_RING];
  private Result[] results = new Result[FIRST_RING];

  private final Executor snapshotter;
  private final BiConsumer<SplitResult, Configuration> onSplit;
  /** The configuration of the Raft snapshot last installed (read after an install). */
  private final java.util.function.Supplier<Configuration> snapshotConfiguration;
  /** The configuration as of the last applied entry: a split gives it to the right-hand range. */
  private Configuration appliedConfiguration;
  /** Called on the Raft loop after the member records or the configuration may have changed. */
  private volatile Runnable membershipChanged = () -> { };

  /**
   * @param snapshotter where snapshots are taken (a thread of the store's, off the Raft loop)
   * @param onSplit     a split was applied: the new range and the configuration as of the split
   */
  KvApplier(KvStateMachine sm, long rangeId, Configuration appliedConfiguration,
      java.util.function.Supplier<Configuration> snapshotConfiguration, Executor snapshotter,
      BiConsumer<SplitResult, Configuration> onSplit) {
    this.sm = sm;
    this.rangeId = rangeId;
    this.appliedConfiguration = appliedConfiguration;
    this.snapshotConfiguration = snapshotConfiguration;
    this.snapshotter = snapshotter;
    this.onSplit = onSplit;
  }

  void onMembershipChange(Runnable r) {
    this.membershipChanged = r;
  }

  private RangeState range() {
    RangeState r = sm.range(rangeId);
    if (r == null) {
      throw new ApplyFailed("range " + rangeId + " has no state on this node", null);
    }
    return r;
  }

  @Override
  public void applyAll(List<Entry> entries) {
    List<CommittedCommand> batch = new ArrayList<>(entries.size());
    boolean confChange = false;
    for (Entry e : entries) {
      batch.add(new CommittedCommand(e.index(), e.term(), e.type() == EntryType.NORMAL ? e.data() : EMPTY));
      confChange |= e.type() == EntryType.CONF_CHANGE;
    }
    long membersVersion = sm.membersVersion();
    List<Result> out;
    try {
      out = range().apply(batch);
    } catch (RuntimeException e) {
      throw new ApplyFailed("cannot apply entries " + entries.get(0).index() + ".."
          + entries.get(entries.size() - 1).index() + " of range " + rangeId + "; stopping this node", e);
    }
    synchronized (this) {
      growTo(entries.size());
      int mask = indexes.length - 1;
      for (int i = 0; i < entries.size(); i++) {
        long index = entries.get(i).index();
        int slot = (int) (index & mask);
        indexes[slot] = index;
        results[slot] = out.get(i);
      }
    }
    // In log order: a configuration entry before a split entry is the split's configuration.
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      if (e.type() == EntryType.CONF_CHANGE) {
        appliedConfiguration = ConfEntry.decode(e.data()).configuration();
      } else if (out.get(i).hasSplit()) {
        onSplit.accept(out.get(i).getSplit(), appliedConfiguration);
      }
    }
    if (confChange || sm.membersVersion() != membersVersion) {
      membershipChanged.run();
    }
  }

  @Override
  public void apply(Entry entry) {
    applyAll(List.of(entry));
  }

  @Override
  public CompletableFuture<Taken> takeSnapshot(long appliedIndex) {
    RangeState r = sm.range(rangeId);
    if (r == null) {
      // A placeholder (Store#placeholder): nothing to snapshot until the leader's snapshot arrives.
      return CompletableFuture.failedFuture(new IllegalStateException("range " + rangeId
          + " is not initialized on this node yet"));
    }
    if (r.appliedIndex() > appliedIndex) {
      // After a recovery cut the state machine is ahead of Raft until the lost entries are applied
      // again (Recovery.startApplied): a snapshot now would be past Raft's applied index.
      return CompletableFuture.failedFuture(new IllegalStateException("range " + rangeId + " at "
          + r.appliedIndex() + " is ahead of Raft's applied index " + appliedIndex
          + " after a recovery cut; snapshot later"));
    }
    return CompletableFuture.supplyAsync(() -> {
      byte[] data = r.snapshot();
      return new Taken(RangeState.headerOf(data).appliedIndex(), data);
    }, snapshotter);
  }

  @Override
  public byte[] snapshot() {
    return range().snapshot();
  }

  /**
   * A leader's snapshot whose span another range on this node still holds is refused before Raft
   * makes it durable: installing it would fail and stop the node. Once that range catches up past
   * the split (its own log or snapshot), the leader's next attempt installs.
   */
  @Override
  public boolean canRestore(long index, byte[] snapshot) {
    String refusal = sm.installRefusal(snapshot);
    if (refusal != null) {
      LOG.info("range {}: not installing the leader's snapshot at {} yet: {}", rangeId, index, refusal);
    }
    return refusal == null;
  }

  /**
   * The snapshot a range made by a split starts its log with carries no state (the split wrote it
   * in the parent's batch): a follower that missed the split cannot install it, so a real one is
   * taken first.
   */
  @Override
  public boolean canSendSnapshot(long index, byte[] snapshot) {
    return snapshot.length > 0;
  }

  @Override
  public void restore(long index, byte[] snapshot) {
    try {
      RangeSnapshots.Header h = RangeState.headerOf(snapshot);
      if (h.appliedIndex() != index || h.descriptor().getRangeId() != rangeId) {
        throw new IllegalStateException("snapshot for range " + rangeId + " at " + index + " holds range "
            + h.descriptor().getRangeId() + " at " + h.appliedIndex());
      }
      RangeState r = sm.range(rangeId);
      if (r == null) {
        sm.installRange(snapshot);
      } else {
        r.install(snapshot);
      }
      // Raft made the snapshot durable before this install: its configuration is the one now.
      appliedConfiguration = snapshotConfiguration.get();
      membershipChanged.run();
    } catch (RuntimeException e) {
      // Raft already made the snapshot durable in the log: without it the node cannot go on.
      throw new ApplyFailed("cannot install the snapshot of range " + rangeId + " at index " + index
          + "; stopping this node", e);
    }
  }

  /** The result of the entry at {@code index}, if it is still remembered. */
  synchronized Result resultOf(long index) {
    int slot = (int) (index & (indexes.length - 1));
    return indexes[slot] == index ? results[slot] : null;
  }

  /** Makes the ring hold at least {@code entries} results (up to its cap), keeping those it has. */
  private void growTo(int entries) {
    int size = indexes.length;
    if (entries <= size || size >= MAX_RING) {
      return;
    }
    while (size < entries && size < MAX_RING) {
      size <<= 1;
    }
    long[] newIndexes = new long[size];
    Result[] newResults = new Result[size];
    for (int i = 0; i < indexes.length; i++) {
      if (results[i] != null) {
        int slot = (int) (indexes[i] & (size - 1));
        newIndexes[slot] = indexes[i];
        newResults[slot] = results[i];
      }
    }
    indexes = newIndexes;
    results = newResults;
  }
}
