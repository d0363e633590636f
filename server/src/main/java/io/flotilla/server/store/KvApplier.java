package io.flotilla.server.store;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.node.StateMachine;
import io.flotilla.storage.CommittedCommand;
import io.flotilla.storage.KvStateMachine;
import io.flotilla.storage.FsUtil;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.snapshot.SnapshotArchive;
import io.flotilla.storage.snapshot.SnapshotMeta;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies committed entries to the RocksDB state machine and keeps each result until the request
 * waiting for it picks it up. The Raft driver completes a proposal's future right after applying
 * its entry, on the same thread, so results live in a small ring indexed by log index; entries
 * proposed on other nodes simply overwrite their slot later.
 *
 * <p>Snapshots are RocksDB checkpoints taken on a thread of their own (the Raft loop keeps applying
 * meanwhile), packed into one {@link SnapshotArchive} for the Raft snapshot. Installing one from the
 * leader unpacks and verifies it in a scratch directory, then swaps it in atomically
 * ({@link KvStateMachine#installSnapshot}): the node never serves a half-installed state.
 */
final class KvApplier implements StateMachine, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KvApplier.class);

  /** Thrown when the state machine cannot apply: the node must stop, not skip an entry. */
  static final class ApplyFailed extends Error {
    private static final long serialVersionUID = 1L;

    ApplyFailed(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static final int RING = 1 << 16;
  private static final byte[] EMPTY = new byte[0];
  private final KvStateMachine sm;
  private final long[] indexes = new long[RING];
  private final Result[] results = new Result[RING];

  private final Path scratch;
  private final ExecutorService snapshotter;
  /** Called on the Raft loop after the member records or the configuration may have changed. */
  private volatile Runnable membershipChanged = () -> { };

  /** @param scratch a directory this applier owns for snapshots in the making; emptied here */
  KvApplier(KvStateMachine sm, Path scratch) throws IOException {
    this.sm = sm;
    this.scratch = scratch;
    if (Files.exists(scratch)) {
      FsUtil.deleteRecursively(scratch); // leftovers of a crash mid-snapshot: never state
    }
    Files.createDirectories(scratch);
    this.snapshotter = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "snapshotter");
      t.setDaemon(true);
      return t;
    });
  }

  void onMembershipChange(Runnable r) {
    this.membershipChanged = r;
  }

  /**
   * Whether applying changed who the members are or where they live: a configuration entry was
   * applied, or the state machine, which owns the Command format, says a member record (or a
   * snapshot) changed its member table.
   */
  private boolean membershipMoved(boolean confChange, long membersVersionBefore) {
    return confChange || sm.membersVersion() != membersVersionBefore;
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
      out = sm.apply(batch);
    } catch (RuntimeException e) {
      throw new ApplyFailed("cannot apply entries " + entries.get(0).index() + ".."
          + entries.get(entries.size() - 1).index() + "; stopping this node", e);
    }
    synchronized (this) {
      for (int i = 0; i < entries.size(); i++) {
        long index = entries.get(i).index();
        int slot = (int) (index & (RING - 1));
        indexes[slot] = index;
        results[slot] = out.get(i);
      }
    }
    if (membershipMoved(confChange, membersVersion)) {
      membershipChanged.run();
    }
  }

  @Override
  public CompletableFuture<Taken> takeSnapshot(long appliedIndex) {
    if (sm.appliedIndex() > appliedIndex) {
      // After a recovery cut the state machine is ahead of Raft until the lost entries are applied
      // again (Recovery.startApplied): a checkpoint now would be past Raft's applied index.
      return CompletableFuture.failedFuture(new IllegalStateException("state machine at "
          + sm.appliedIndex() + " is ahead of Raft's applied index " + appliedIndex
          + " after a recovery cut; snapshot later"));
    }
    return CompletableFuture.supplyAsync(() -> {
      Path dir = scratch.resolve("take-" + appliedIndex + "-" + System.nanoTime());
      try {
        SnapshotMeta meta = sm.createSnapshot(dir);
        return new Taken(meta.appliedIndex(), SnapshotArchive.pack(meta));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } finally {
        deleteQuietly(dir);
      }
    }, snapshotter);
  }

  @Override
  public byte[] snapshot() {
    return takeSnapshot(sm.appliedIndex()).join().data();
  }

  @Override
  public void restore(long index, byte[] snapshot) {
    Path dir = scratch.resolve("install-" + index + "-" + System.nanoTime());
    try {
      SnapshotMeta meta = SnapshotArchive.unpack(snapshot, dir);
      if (meta.appliedIndex() != index) {
        throw new IOException("snapshot for index " + index + " holds state at " + meta.appliedIndex());
      }
      sm.installSnapshot(dir);
      membershipChanged.run();
    } catch (IOException e) {
      // Raft already made the snapshot durable in the log: without it the node cannot go on.
      throw new ApplyFailed("cannot install the snapshot at index " + index + "; stopping this node", e);
    } finally {
      deleteQuietly(dir);
    }
  }

  private static void deleteQuietly(Path dir) {
    try {
      FsUtil.deleteRecursively(dir);
    } catch (IOException e) {
      LOG.warn("could not delete {}; it is removed on the next start", dir, e);
    }
  }

  @Override
  public void close() {
    snapshotter.shutdownNow();
  }

  @Override
  public void apply(Entry entry) {
    // NOOP and CONF_CHANGE entries still advance the applied index (empty command).
    byte[] data = entry.type() == EntryType.NORMAL ? entry.data() : EMPTY;
    long membersVersion = sm.membersVersion();
    Result r;
    try {
      r = sm.apply(List.of(new CommittedCommand(entry.index(), entry.term(), data))).get(0);
    } catch (RuntimeException e) {
      throw new ApplyFailed("cannot apply entry " + entry.index() + "; stopping this node", e);
    }
    int slot = (int) (entry.index() & (RING - 1));
    synchronized (this) {
      indexes[slot] = entry.index();
      results[slot] = r;
    }
    if (membershipMoved(entry.type() == EntryType.CONF_CHANGE, membersVersion)) {
      membershipChanged.run();
    }
  }

  /** The result of the entry at {@code index}, if it is still remembered. */
  synchronized Result resultOf(long index) {
    int slot = (int) (index & (RING - 1));
    return indexes[slot] == index ? results[slot] : null;
  }
}
