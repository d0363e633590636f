package io.flotilla.storage;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.storage.proto.Command;
import io.flotilla.storage.proto.Error;
import io.flotilla.storage.proto.MemberInfo;
import io.flotilla.storage.proto.Result;
import io.flotilla.storage.proto.SessionRecord;
import io.flotilla.storage.snapshot.SnapshotException;
import io.flotilla.storage.snapshot.SnapshotFiles;
import io.flotilla.storage.snapshot.SnapshotMeta;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import io.flotilla.storage.proto.RangeDescriptor;
import org.rocksdb.WriteBatch;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatchWithIndex;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's replicated key-value state: one RocksDB holding every range this node has a replica of
 * (docs/ranges.md). Each range is a {@link RangeState}: its span of the user keys, and its
 * range-local applied index, descriptor, member records and sessions, which it writes in the same
 * batch as the data they describe. A new store starts with one range, {@link #DEFAULT_RANGE_ID},
 * covering every key; splits make more.
 *
 * <p>The methods that name no range ({@link #apply}, {@link #appliedIndex}, {@link #digest},
 * {@link #members}, ...) are those of the default range, for a node with one range; reads by key
 * ({@link #get}, {@link #scan}) see every range's keys.
 *
 * <p><b>Threads.</b> Each range is applied by one driver thread; reads may come from any thread
 * and see whole batches only. A whole-store install ({@link #installSnapshot}) and {@link #close}
 * exclude everything else.
 *
 * <p>No Raft logic, no network, no wall clock, no threads of its own.
 */
public final class KvStateMachine implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(KvStateMachine.class);

  /** The range a new store starts with: every key. */
  public static final long DEFAULT_RANGE_ID = 1;

  private static final byte[] PAST_EVERY_KEY = pastEveryKeyBytes();

  private final StorageOptions options;
  private final DbLayout layout;
  private final CommandExecutor executor;
  private final WriteOptions writeOptions;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final Map<Long, RangeState> ranges = new ConcurrentHashMap<>();

  private RocksStore store;
  /** See {@link #membersVersion()}. */
  private final AtomicLong membersVersion = new AtomicLong();
  private volatile boolean failed;
  private volatile boolean closed;

  private KvStateMachine(StorageOptions options, DbLayout layout, RocksStore store) {
    this.options = options;
    this.layout = layout;
    this.executor = new CommandExecutor(options);
    // Unsynced but logged: kill -9 loses nothing; power loss loses a suffix of whole batches
    // together with their applied index, which the fsync'd Raft log replays.
    this.writeOptions = new WriteOptions().setSync(false).setDisableWAL(false);
    adopt(store);
  }

  /**
   * Opens (or creates) the state machine in {@code dir}, cleaning up after an interrupted install.
   *
   * @throws StorageLockedException when another instance has {@code dir} open
   */
  public static KvStateMachine open(Path dir, StorageOptions options) throws IOException {
    Objects.requireNonNull(options, "options");
    DbLayout layout = DbLayout.open(dir);
    try {
      return new KvStateMachine(options, layout, RocksStore.open(layout.currentDir()));
    } catch (RuntimeException e) {
      layout.close();
      throw e;
    }
  }

  /** Loads every range of {@code newStore}; a new store gets the default range, holding every key. */
  private void adopt(RocksStore newStore) {
    this.store = newStore;
    ranges.clear();
    try (RocksIterator it = newStore.db.newIterator(newStore.meta)) {
      for (it.seek(Keys.descScanStart()); it.isValid(); it.next()) {
        long id = Keys.rangeOfDescKey(it.key());
        if (id < 0) {
          continue;
        }
        RangeDescriptor d = RangeDescriptor.parseFrom(it.value());
        long[] applied = Keys.parseApplied(newStore.db.get(newStore.meta, Keys.appliedKey(id)));
        RangeState r = new RangeState(this, d, applied[0], applied[1]);
        r.reloadSessions();
        ranges.put(id, r);
      }
      StateReads.checkIterator(it);
    } catch (RocksDBException | InvalidProtocolBufferException e) {
      throw new StorageFailure("cannot read the range descriptors", e);
    }
    if (ranges.isEmpty()) {
      try {
        if (newStore.db.get(newStore.meta, "applied".getBytes(java.nio.charset.StandardCharsets.US_ASCII)) != null) {
          // Taken for a new store, its commands would be applied a second time (a counter twice).
          throw new StorageFailure(newStore.dir + " holds state in the format before ranges (a global applied"
              + " index): it cannot be opened; there has been no release to migrate from, start this node empty");
        }
      } catch (RocksDBException e) {
        throw new StorageFailure("cannot read " + newStore.dir, e);
      }
      RangeDescriptor all = RangeDescriptor.newBuilder().setRangeId(DEFAULT_RANGE_ID).build();
      try (WriteBatch batch = new WriteBatch()) {
        batch.put(newStore.meta, Keys.descKey(DEFAULT_RANGE_ID), all.toByteArray());
        batch.put(newStore.meta, Keys.appliedKey(DEFAULT_RANGE_ID), Keys.appliedValue(0, 0));
        newStore.db.write(writeOptions, batch);
      } catch (RocksDBException e) {
        throw new StorageFailure("cannot create the default range", e);
      }
      RangeState r = new RangeState(this, all, 0, 0);
      r.reloadSessions();
      ranges.put(DEFAULT_RANGE_ID, r);
    }
  }

  public StorageOptions options() {
    return options;
  }

  // ---------------------------------------------------------------------------------- ranges

  /** The range {@code id}, or null when this store holds none. */
  public RangeState range(long id) {
    return ranges.get(id);
  }

  /** Every range, in key order. */
  public List<RangeState> ranges() {
    List<RangeState> out = new ArrayList<>(ranges.values());
    out.sort((a, b) -> Arrays.compareUnsigned(a.descriptor().getStartKey().toByteArray(),
        b.descriptor().getStartKey().toByteArray()));
    return out;
  }

  /** The range holding {@code key}, or null. */
  public RangeState rangeFor(byte[] key) {
    for (RangeState r : ranges.values()) {
      if (r.contains(key)) {
        return r;
      }
    }
    return null;
  }

  /** The default range (see {@link #DEFAULT_RANGE_ID}). */
  public RangeState defaultRange() {
    RangeState r = ranges.get(DEFAULT_RANGE_ID);
    if (r == null) {
      throw new IllegalStateException("this store holds no range " + DEFAULT_RANGE_ID);
    }
    return r;
  }

  /**
   * Why {@code snapshot} (of a range, from its leader) cannot be installed here now, or null when
   * it can: it does not decode, or another range on this node still holds keys of its span (this
   * node has not yet caught that range up past the split that gave the keys away; once it has,
   * the same snapshot installs). Checked before Raft makes a snapshot durable, so a refusal costs
   * nothing but a resend.
   */
  public String installRefusal(byte[] snapshot) {
    RangeSnapshots.Header h;
    try {
      h = RangeSnapshots.header(snapshot);
    } catch (RuntimeException e) {
      return "the snapshot does not decode: " + e.getMessage();
    }
    RangeState other = overlapping(h.descriptor(), h.descriptor().getRangeId());
    return other == null ? null : "range " + other.id() + " " + Spans.show(other.descriptor())
        + " on this node still holds keys of range " + h.descriptor().getRangeId() + " " + Spans.show(h.descriptor());
  }

  /**
   * Creates range {@code d.range_id} from a snapshot of it (a replica this node did not have):
   * refused when the store holds that range already or another range holding its keys.
   */
  public RangeState installRange(byte[] snapshot) {
    return write(() -> {
      RangeSnapshots.Header h = RangeSnapshots.header(snapshot);
      long id = h.descriptor().getRangeId();
      if (ranges.containsKey(id)) {
        throw new StorageFailure("range " + id + " exists here; install into it instead");
      }
      RangeState other = overlapping(h.descriptor(), id);
      if (other != null) {
        throw new StorageFailure("snapshot of range " + id + " " + Spans.show(h.descriptor()) + " overlaps range "
            + other.id() + " " + Spans.show(other.descriptor()) + " on this node");
      }
      RangeSnapshots.install(store, writeOptions, null, snapshot, descriptorsBut(id));
      RangeState r = new RangeState(this, h.descriptor(), h.appliedIndex(), h.appliedTerm());
      r.reloadSessions();
      ranges.put(id, r);
      membersVersion.incrementAndGet();
      return r;
    });
  }

  /**
   * Deletes range {@code id} from this node (its replica left: a placement move, docs/placement.md):
   * its span's keys (those no other range here holds), its range-local records and its sessions, in
   * one atomic write. The default range, which carries the member records, is never destroyed.
   * Returns whether the range was here.
   */
  public boolean destroyRange(long id) {
    if (id == DEFAULT_RANGE_ID) {
      throw new IllegalArgumentException("range " + id + " carries the member records: never destroyed");
    }
    return write(() -> {
      RangeState r = ranges.get(id);
      if (r == null) {
        return false;
      }
      RangeSnapshots.destroy(store, writeOptions, r.descriptor(), descriptorsBut(id));
      ranges.remove(id);
      membersVersion.incrementAndGet();
      return true;
    });
  }

  /** A range a split just made (its batch is written): from now on it is served. */
  void adoptRange(RangeState r) {
    r.reloadSessions();
    ranges.put(r.id(), r);
  }

  /** A range other than {@code exceptId} holding a key of {@code d}'s span, or null. */
  RangeState overlapping(RangeDescriptor d, long exceptId) {
    for (RangeState r : ranges.values()) {
      if (r.id() != exceptId && Spans.overlap(d, r.descriptor())) {
        return r;
      }
    }
    return null;
  }

  List<RangeDescriptor> descriptorsBut(long exceptId) {
    return ranges.values().stream().filter(r -> r.id() != exceptId).map(RangeState::descriptor).toList();
  }

  /** A key past every valid key (no key is longer than StorageOptions.MAX_KEY_LIMIT). */
  static byte[] pastEveryKey() {
    return PAST_EVERY_KEY;
  }

  private static byte[] pastEveryKeyBytes() {
    byte[] k = new byte[StorageOptions.MAX_KEY_LIMIT + 1];
    Arrays.fill(k, (byte) 0xff);
    return k;
  }

  // ------------------------------------------------------------- what the ranges share

  RocksStore store() {
    return store;
  }

  CommandExecutor executor() {
    return executor;
  }

  WriteOptions writeOptions() {
    return writeOptions;
  }

  /** A failed write left memory ahead of disk: refuse further use until reopened. */
  void fail() {
    failed = true;
  }

  void membersChanged(int records) {
    membersVersion.addAndGet(records);
  }

  /** Runs {@code read} under the read lock on a usable store. */
  <T> T read(java.util.function.Supplier<T> read) {
    lock.readLock().lock();
    try {
      checkUsable();
      return read.get();
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Runs {@code write} under the write lock (nothing else runs meanwhile) on a usable store. */
  <T> T write(java.util.function.Supplier<T> write) {
    lock.writeLock().lock();
    try {
      checkUsable();
      return write.get();
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ------------------------------------------------------- the default range, for one range

  /** The default range's last applied log index (0 for a fresh state machine). */
  public long appliedIndex() {
    return defaultRange().appliedIndex();
  }

  /** The term of the entry at {@link #appliedIndex()} (0 for a fresh state machine). */
  public long appliedTerm() {
    return defaultRange().appliedTerm();
  }

  /**
   * A counter that moves whenever the member records may have changed: once per member record
   * applied (a valid one: a refused record changes nothing), and on every snapshot install. Not
   * persisted (it starts at 0 on open) and not replicated: the driver compares it before and after
   * an apply to learn whether to reload the member table, without knowing the Command format.
   */
  public long membersVersion() {
    return membersVersion.get();
  }

  /** Number of live sessions of the default range (for metrics and tests). */
  public int sessionCount() {
    return defaultRange().sessionCount();
  }

  /** Applies committed entries of the default range: see {@link RangeState#apply}. */
  public List<Result> apply(List<CommittedCommand> entries) {
    return defaultRange().apply(entries);
  }

  /** Every member record the default range's log carried, by id. */
  public java.util.SortedMap<Long, MemberInfo> members() {
    return defaultRange().members();
  }

  /** The value of {@code key} as of the last applied batch of the range holding it. */
  public Optional<byte[]> get(byte[] key) {
    Objects.requireNonNull(key, "key");
    return read(() -> {
      try {
        return Optional.ofNullable(store.db.get(store.data, key));
      } catch (RocksDBException e) {
        throw new StorageFailure("get failed", e);
      }
    });
  }

  /**
   * Up to {@code limit} pairs with {@code startInclusive <= key < endExclusive} in unsigned bytewise
   * order, from one consistent view. An empty start means from the first key; an empty end means
   * unbounded.
   */
  public ScanResult scan(byte[] startInclusive, byte[] endExclusive, int limit) {
    return scan(startInclusive, endExclusive, limit, Long.MAX_VALUE);
  }

  /**
   * As {@link #scan(byte[], byte[], int)}, and the page also ends before the pair that would take
   * its keys and values (plus {@value #SCAN_PAIR_OVERHEAD_BYTES} bytes per pair) past
   * {@code maxBytes}; the first pair is always included, so a page is never empty while the range
   * has keys, and the continuation key resumes exactly where the page ended.
   */
  public ScanResult scan(byte[] startInclusive, byte[] endExclusive, int limit, long maxBytes) {
    Objects.requireNonNull(startInclusive, "startInclusive");
    Objects.requireNonNull(endExclusive, "endExclusive");
    if (limit < 1) {
      throw new IllegalArgumentException("limit < 1: " + limit);
    }
    if (maxBytes < 1) {
      throw new IllegalArgumentException("maxBytes < 1: " + maxBytes);
    }
    return read(() -> StateReads.scan(store, startInclusive, endExclusive, limit, maxBytes));
  }

  /** What a pair costs a page beyond its key and value bytes (a protobuf entry's tags and lengths). */
  public static final int SCAN_PAIR_OVERHEAD_BYTES = 16;

  /** The default range's digest: see {@link RangeState#digest()}. */
  public byte[] digest() {
    return defaultRange().digest();
  }

  /**
   * Writes a snapshot of the current state to {@code targetDir} (must not exist): a RocksDB
   * checkpoint (memtables flushed, SSTs hard-linked) plus {@value SnapshotFiles#MANIFEST}. The
   * applied index is read back from the checkpoint itself, so this may run concurrently with apply.
   */
  public SnapshotMeta createSnapshot(Path targetDir) throws IOException {
    if (Files.exists(targetDir)) {
      throw new IOException("snapshot target exists: " + targetDir);
    }
    Files.createDirectories(targetDir.toAbsolutePath().getParent());
    try {
      lock.readLock().lock();
      try {
        checkUsable();
        StateSnapshots.checkpoint(store, targetDir);
      } finally {
        lock.readLock().unlock();
      }
      SnapshotMeta meta = StateSnapshots.finishCheckpoint(targetDir);
      LOG.info("snapshot at index {} term {}: {} files, {} bytes in {}", meta.appliedIndex(), meta.appliedTerm(),
          meta.files().size(), meta.totalBytes(), targetDir);
      return meta;
    } catch (IOException | RuntimeException e) {
      FsUtil.deleteRecursively(targetDir);  // never leave a snapshot without a valid manifest
      throw e;
    }
  }

  /**
   * Replaces the whole state with a verified snapshot. Until the atomic flip of the {@code CURRENT}
   * pointer the old state keeps serving; after it the new one does. Any failure before the flip
   * leaves the old state in place (and its leftovers are removed here or on the next open).
   *
   * @throws SnapshotException when the snapshot fails verification (nothing changed)
   */
  public SnapshotMeta installSnapshot(Path snapshotDir) throws IOException {
    SnapshotMeta meta = SnapshotFiles.verify(snapshotDir);
    lock.writeLock().lock();
    try {
      checkUsable();
      RocksStore fresh = StateSnapshots.stageAndFlip(layout, snapshotDir, meta);
      // Committed: CURRENT names `fresh.dir`. From here a failure cannot go back to the old state.
      RocksStore old = store;
      old.close();
      adopt(fresh);
      membersVersion.incrementAndGet(); // the member table is the snapshot's now
      try {
        FsUtil.deleteRecursively(old.dir);
      } catch (IOException e) {
        LOG.warn("could not delete replaced database {}; it is removed on next open", old.dir, e);
      }
      LOG.info("installed snapshot at index {} term {} into {}", meta.appliedIndex(), meta.appliedTerm(), fresh.dir);
      return meta;
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void checkUsable() {
    if (closed) {
      throw new IllegalStateException("state machine is closed");
    }
    if (failed) {
      throw new IllegalStateException("state machine failed earlier; close and reopen it");
    }
  }

  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      store.close();
      writeOptions.close();
      try {
        layout.close();
      } catch (IOException e) {
        LOG.warn("releasing the directory lock of {} failed", layout.root(), e);
      }
    } finally {
      lock.writeLock().unlock();
    }
  }
}
