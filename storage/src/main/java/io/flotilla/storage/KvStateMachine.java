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
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatchWithIndex;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicated key-value state machine: applies committed Raft entries to RocksDB.
 *
 * <p><b>Atomicity.</b> One {@link #apply} call is one RocksDB write batch holding the user-data
 * changes, the session-table changes and the new applied index. After any crash the database
 * equals "all entries up to the persisted {@link #appliedIndex()}", so the driver replays the Raft
 * log from {@code appliedIndex() + 1}.
 *
 * <p><b>Threads.</b> {@link #apply}, {@link #installSnapshot} and {@link #close} are called by one
 * driver thread. {@link #get}, {@link #scan}, {@link #digest}, {@link #appliedIndex} and
 * {@link #createSnapshot} may be called from any thread concurrently with apply (RocksDB is
 * thread-safe); reads see whole batches only. Install and close exclude all of them.
 *
 * <p>No Raft logic, no network, no wall clock, no threads of its own.
 */
public final class KvStateMachine implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(KvStateMachine.class);

  private final StorageOptions options;
  private final DbLayout layout;
  private final CommandExecutor executor;
  private final WriteOptions writeOptions;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  private RocksStore store;
  private SessionTable sessions;
  private volatile long appliedIndex;
  private volatile long appliedTerm;
  /** See {@link #membersVersion()}; written by the one applying thread (or install, exclusively). */
  private volatile long membersVersion;
  /** Member records applied by the batch in progress; touched only by the applying thread. */
  private int memberRecordsInBatch;
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

  private void adopt(RocksStore newStore) {
    long[] applied = newStore.readApplied();
    this.store = newStore;
    this.sessions = SessionTable.load(newStore.db, newStore.sessions, options.sessionExpiryEntries());
    this.appliedIndex = applied[0];
    this.appliedTerm = applied[1];
  }

  public StorageOptions options() {
    return options;
  }

  /**
   * The last log index reflected in the state (0 for a fresh state machine). Published after the
   * batch is visible to {@link #get}, so a reader that sees index {@code i} here reads state at
   * least as new as {@code i} (what ReadIndex needs).
   */
  public long appliedIndex() {
    return appliedIndex;
  }

  /** The term of the entry at {@link #appliedIndex()} (0 for a fresh state machine). */
  public long appliedTerm() {
    return appliedTerm;
  }

  /**
   * A counter that moves whenever {@link #members()} may have changed: once per member record
   * applied (a valid one: a refused record changes nothing), and on every snapshot install. Not
   * persisted (it starts at 0 on open) and not replicated: the driver compares it before and after
   * an apply to learn whether to reload the member table, without knowing the Command format.
   */
  public long membersVersion() {
    return membersVersion;
  }

  /** Number of live sessions (for metrics and tests). */
  public int sessionCount() {
    lock.readLock().lock();
    try {
      checkUsable();
      return sessions.size();
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Applies committed entries in one atomic batch and returns one Result per entry, in order.
   * Entries at or below {@link #appliedIndex()} are skipped ({@code already_applied}); the rest must
   * continue the log without gaps and with non-decreasing terms, or this throws
   * {@link IllegalStateException} and applies nothing: that is a driver bug.
   */
  public List<Result> apply(List<CommittedCommand> entries) {
    lock.readLock().lock();
    try {
      checkUsable();
      long applied = appliedIndex;
      long expected = applied + 1;
      long previous = 0;
      long term = appliedTerm;
      for (CommittedCommand e : entries) {
        if (e.index() <= previous) {
          throw new IllegalStateException("entry indexes not strictly increasing: " + e.index() + " after " + previous);
        }
        previous = e.index();
        if (e.index() > applied) {
          if (e.index() != expected) {
            throw new IllegalStateException("log gap: expected index " + expected + ", got " + e.index()
                + " (appliedIndex " + applied + ")");
          }
          if (e.term() < term) {
            throw new IllegalStateException("term went back from " + term + " to " + e.term() + " at index " + e.index());
          }
          term = e.term();
          expected++;
        }
      }
      if (expected == applied + 1) {
        return entries.stream().map(e -> Results.ALREADY_APPLIED).toList();
      }
      return applyBatch(entries, applied);
    } finally {
      lock.readLock().unlock();
    }
  }

  private List<Result> applyBatch(List<CommittedCommand> entries, long applied) {
    List<Result> results = new ArrayList<>(entries.size());
    CommittedCommand lastApplied = null;
    memberRecordsInBatch = 0;
    try (WriteBatchWithIndex batch = new WriteBatchWithIndex(true);
         ReadOptions readOptions = new ReadOptions()) {
      ColumnView data = new BatchColumn(store.db, batch, store.data, readOptions);
      ColumnView sessionView = new BatchColumn(store.db, batch, store.sessions, readOptions);
      ColumnView meta = new BatchColumn(store.db, batch, store.meta, readOptions);
      for (CommittedCommand e : entries) {
        if (e.index() <= applied) {
          results.add(Results.ALREADY_APPLIED);
          continue;
        }
        sessions.expire(e.index(), sessionView);
        results.add(applyOne(e, data, sessionView, meta));
        lastApplied = e;
      }
      batch.put(store.meta, Keys.META_APPLIED, Keys.appliedValue(lastApplied.index(), lastApplied.term()));
      store.db.write(writeOptions, batch);
    } catch (RocksDBException | RuntimeException e) {
      // The in-memory session index may be ahead of disk now: refuse further use.
      failed = true;
      throw e instanceof StorageFailure sf ? sf : new StorageFailure("apply failed; reopen required", e);
    }
    appliedTerm = lastApplied.term();
    appliedIndex = lastApplied.index();
    if (memberRecordsInBatch > 0) {
      // Published after the batch is readable, like the applied index: a reader that sees the new
      // version finds the new records in members().
      membersVersion += memberRecordsInBatch;
    }
    return results;
  }

  private Result applyOne(CommittedCommand entry, ColumnView data, ColumnView sessionView, ColumnView meta) {
    if (entry.data().length == 0) {
      return Results.NOOP;
    }
    Command command;
    try {
      command = Command.parseFrom(entry.data());
    } catch (InvalidProtocolBufferException e) {
      return Results.error(Error.Code.INVALID_ARGUMENT, "malformed command");
    }
    if (command.hasMember()) {
      MemberInfo m = command.getMember();
      if (m.getId() <= 0 || m.getPeerAddress().isEmpty()) {
        return Results.error(Error.Code.INVALID_ARGUMENT, "member record needs an id and a peer address");
      }
      meta.put(Keys.memberKey(m.getId()), m.toByteArray());
      memberRecordsInBatch++;
      return Results.NOOP;
    }
    long clientId = command.getClientId();
    long sequence = command.getSequence();
    if (clientId == 0 || sequence == 0) {
      return executor.execute(command, data);
    }
    SessionRecord session = sessions.get(clientId, sessionView);
    if (session == null) {
      if (Long.compareUnsigned(sequence, 1) > 0) {
        return Results.error(Error.Code.SESSION_EXPIRED,
            "no session for client " + Long.toUnsignedString(clientId) + "; register with sequence 1");
      }
    } else {
      int c = Long.compareUnsigned(sequence, session.getLastSequence());
      if (c == 0) {
        // A retry must be the same write: a different command under an applied sequence would
        // otherwise be answered with the first one's result while silently never applied.
        ByteString remembered = session.getLastCommandDigest();
        if (!remembered.isEmpty() && !remembered.equals(sessions.digest(entry.data()))) {
          return Results.error(Error.Code.SEQUENCE_REUSED, "sequence " + Long.toUnsignedString(sequence)
              + " of client " + Long.toUnsignedString(clientId) + " was already applied for a different write;"
              + " this one was not applied");
        }
        return session.getLastResult();
      }
      if (c < 0) {
        return Results.error(Error.Code.STALE_SEQUENCE, "sequence " + Long.toUnsignedString(sequence)
            + " is older than last applied " + Long.toUnsignedString(session.getLastSequence()));
      }
    }
    Result result = executor.execute(command, data);
    sessions.record(clientId, sequence, entry.index(), result, sessions.digest(entry.data()), sessionView);
    return result;
  }

  /**
   * Every member record ever applied (see {@code MemberInfo} in kv.proto), by id, as of the last
   * applied batch. Part of snapshots, like all replicated state.
   */
  public java.util.SortedMap<Long, MemberInfo> members() {
    lock.readLock().lock();
    try {
      checkUsable(); // before the iterator: a closed database must not be touched
      try (RocksIterator it = store.db.newIterator(store.meta)) {
        return StateReads.members(it);
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The value of {@code key} as of the last applied batch. */
  public Optional<byte[]> get(byte[] key) {
    Objects.requireNonNull(key, "key");
    lock.readLock().lock();
    try {
      checkUsable();
      return Optional.ofNullable(store.db.get(store.data, key));
    } catch (RocksDBException e) {
      throw new StorageFailure("get failed", e);
    } finally {
      lock.readLock().unlock();
    }
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
    lock.readLock().lock();
    try {
      checkUsable();
      return StateReads.scan(store, startInclusive, endExclusive, limit, maxBytes);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** What a pair costs a page beyond its key and value bytes (a protobuf entry's tags and lengths). */
  public static final int SCAN_PAIR_OVERHEAD_BYTES = 16;

  /**
   * SHA-256 over the applied index and term, then every user pair and every session record in key
   * order, from one consistent view. Equal on replicas that applied the same log prefix.
   */
  public byte[] digest() {
    lock.readLock().lock();
    try {
      checkUsable();
      return StateDigest.of(store);
    } finally {
      lock.readLock().unlock();
    }
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
      membersVersion++; // the member table is the snapshot's now
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
