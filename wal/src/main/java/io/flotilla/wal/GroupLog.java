package io.flotilla.wal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One Raft group's log inside a {@link Wal}: dense indexes of its own, its hard state, its
 * compaction point, its recovery cut. Obtained from {@link Wal#group(long)}; every group of a log
 * shares its files, its writer and its forces, so one force makes the writes of many groups
 * durable.
 *
 * <p>Writes come in three strengths. {@link #append} returns a future completed once durable (the
 * writer forces for it); {@link #appendDurably} and {@link #saveHardState} return once durable;
 * {@link #write} only writes, and the next {@link Wal#sync()} (or any later force) makes it
 * durable: the Raft driver writes every replica's Ready this way, then forces once for all.
 * Entries are readable as soon as a call returns, before they are durable;
 * {@link #durableIndex()} says how far the group's log is on disk.
 *
 * <p>Thread-safe. Truncations, compactions and resets hold back appends to the whole log until
 * they are durable; a driver calls them rarely (conflicts, snapshots).
 */
public final class GroupLog {
  private final Wal wal;
  final GroupState g;

  GroupLog(Wal wal, GroupState g) {
    this.wal = wal;
    this.g = g;
  }

  public long groupId() {
    return g.id;
  }

  // ---------------------------------------------------------------------------------- writes

  /**
   * Appends entries whose indexes the caller chose (Raft does): they must be dense and start right
   * after {@link #lastIndex()}; to replace a suffix, call {@link #truncateSuffix} first. The future
   * completes with the last index once all of them are durable.
   */
  public CompletableFuture<Long> append(List<WalEntry> entries) {
    if (entries.isEmpty()) {
      return CompletableFuture.completedFuture(g.durableIndex);
    }
    WalEntry[] batch = checked(entries);
    CompletableFuture<Long> f = new CompletableFuture<>();
    wal.appendLock.lock();
    try {
      if (admit(batch, null, f)) {
        wal.enqueue(new WalWriter.Write(g, batch, null, true, wal.nextSeq(), f));
      }
    } finally {
      wal.appendLock.unlock();
    }
    return f;
  }

  /** Appends one entry at the next index; the future completes with that index once durable. */
  CompletableFuture<Long> append(long term, byte[] payload) {
    AppendChecks.checkPayload(payload, wal.options.maxEntryBytes());
    CompletableFuture<Long> f = new CompletableFuture<>();
    wal.appendLock.lock();
    try {
      checkLive();
      WalEntry[] one = {new WalEntry(lastIndex() + 1, term, payload)};
      if (admit(one, null, f)) {
        wal.enqueue(new WalWriter.Write(g, one, null, true, wal.nextSeq(), f));
      }
    } finally {
      wal.appendLock.unlock();
    }
    return f;
  }

  /**
   * As {@link #append}, but returns only once the entries are durable (with the last index; the
   * durable index when {@code entries} is empty). When no other write is queued or in progress,
   * the write and the force run on the calling thread; otherwise the entries go to the writer like
   * any append and this waits for them. An interrupted caller always takes the writer's path,
   * since an interrupt during file I/O would close the file (and fail the log). Throws
   * {@link WalFailedException} (or {@link WalException} when closed) if they are not durable.
   */
  public long appendDurably(List<WalEntry> entries) throws IOException {
    if (entries.isEmpty()) {
      return g.durableIndex;
    }
    return submit(checked(entries), null, true);
  }

  /**
   * Writes entries (which must continue the log, as for {@link #append}) and then, if not null, a
   * hard state, in one write and without forcing: durable once {@link Wal#sync()} returns (or any
   * later force of the log). Returns once written. This is what lets a driver write every group's
   * Ready and force once for all of them. A group whose hard state lives in the
   * {@code hardstate} file (the log's own group) saves it there, durably, instead.
   */
  public void write(List<WalEntry> entries, WalHardState hardState) throws IOException {
    WalEntry[] batch = entries.isEmpty() ? new WalEntry[0] : checked(entries);
    WalHardState inLog = g.fileBacked ? null : hardState;
    if (batch.length > 0 || inLog != null) {
      submit(batch, inLog, false);
    }
    if (g.fileBacked && hardState != null) {
      wal.hardState().save(hardState);
    }
  }

  /** Durably replaces the group's hard state; returns once it would survive a crash. */
  public void saveHardState(WalHardState hardState) throws IOException {
    if (g.fileBacked) {
      wal.hardState().save(hardState);
    } else {
      submit(new WalEntry[0], hardState, true);
    }
  }

  /**
   * Admits a write and writes it on this thread when the log is idle (forcing only when
   * {@code durable}), or queues it for the writer; with {@code durable}, waits until it is.
   */
  private long submit(WalEntry[] batch, WalHardState hs, boolean durable) throws IOException {
    CompletableFuture<Long> f = new CompletableFuture<>();
    WalWriter.Write op;
    boolean inline = false;
    wal.appendLock.lock();
    try {
      if (!admit(batch, hs, f)) {
        return WalWriter.await(f);
      }
      op = new WalWriter.Write(g, batch, hs, durable, wal.nextSeq(), f);
      // Nothing queued or in a writer round (writes queue under appendLock, so none can slip in
      // ahead): everything admitted before is written, and later writes wait for writeLock.
      inline = wal.outstanding.get() == 0 && !Thread.currentThread().isInterrupted()
          && wal.writeLock.tryLock();
      if (!inline) {
        wal.enqueue(op);
      }
    } finally {
      wal.appendLock.unlock();
    }
    if (inline) {
      try {
        wal.writer.writeInline(op);
      } finally {
        wal.writeLock.unlock();
      }
    }
    if (durable || f.isCompletedExceptionally()) {
      return WalWriter.await(f);
    }
    return batch.length == 0 ? 0 : batch[batch.length - 1].index();
  }

  /** Runs under appendLock: checks the batch continues the log and publishes it, or fails f. */
  private boolean admit(WalEntry[] batch, WalHardState hs, CompletableFuture<Long> f) {
    checkLive();
    if (batch.length > 0) {
      if (batch[0].index() != lastIndex() + 1) {
        throw new IllegalArgumentException("append at " + batch[0].index() + " but the log"
            + (g.fileBacked ? "" : " of group " + g.id) + " ends at " + lastIndex()
            + " (truncateSuffix first to replace entries)");
      }
      checkTerm(batch[0].term());
    }
    if (!wal.admit(f)) {
      return false;
    }
    wal.stateLock.writeLock().lock();
    try {
      for (WalEntry e : batch) {
        g.terms.append(e.index(), e.term());
        g.index.add(e);
      }
      if (hs != null) {
        g.hardState = hs;
      }
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    return true;
  }

  /** Runs under appendLock: Raft terms in a log never decrease. */
  private void checkTerm(long term) {
    wal.stateLock.readLock().lock();
    try {
      long prev = g.lastTerm();
      if (term < prev) {
        throw new IllegalArgumentException("term " + term + " is below the last entry's term "
            + prev);
      }
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  private WalEntry[] checked(List<WalEntry> entries) {
    return AppendChecks.checkedBatch(entries, wal.options.maxEntryBytes());
  }

  private void checkLive() {
    if (g.removed) {
      throw new IllegalStateException("group " + g.id + " was removed from this log");
    }
  }

  // ---------------------------------------------------------------------------- truncations

  /**
   * Durably removes every entry at and after {@code index} (Raft conflict resolution). Returns once
   * the removal would survive a crash; appends wait meanwhile, so nothing is accepted at
   * {@code index} before the old entry is gone.
   */
  public void truncateSuffix(long index) throws IOException {
    wal.appendLock.lock();
    try {
      checkLive();
      if (wal.truncation.suffixToCut(g, index)) {
        wal.runExclusive(WalWriter.Kind.TRUNCATE_SUFFIX, g, index, 0);
      }
    } finally {
      wal.appendLock.unlock();
    }
  }

  /**
   * Compacts the log after a snapshot at {@code index} (whose entry has {@code term}): durably
   * records the compaction point, then frees every segment no group needs any more. When
   * {@code index} is past the end of the log (a snapshot installed from the leader), the log
   * becomes empty and the next append must be at {@code index + 1}.
   */
  public void truncatePrefix(long index, long term) throws IOException {
    wal.appendLock.lock();
    try {
      checkLive();
      if (wal.truncation.prefixToCompact(g, index, term)) {
        wal.runExclusive(WalWriter.Kind.TRUNCATE_PREFIX, g, index, term);
      }
    } finally {
      wal.appendLock.unlock();
    }
  }

  /**
   * Durably replaces the whole log by a snapshot at ({@code index}, {@code term}): every entry is
   * gone, whatever its index, and the log continues at {@code index + 1} (a snapshot installed
   * from the leader).
   */
  public void reset(long index, long term) throws IOException {
    if (index < 0 || term < 0) {
      throw new IllegalArgumentException("reset at " + index + " term " + term);
    }
    wal.appendLock.lock();
    try {
      checkLive();
      wal.runExclusive(WalWriter.Kind.RESET, g, index, term);
    } finally {
      wal.appendLock.unlock();
    }
  }

  // ----------------------------------------------------------------------------------- reads

  /** First readable index; equals compaction point + 1. */
  public long firstIndex() {
    wal.stateLock.readLock().lock();
    try {
      return g.firstIndex();
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  /** Last appended index (maybe not yet durable); the compaction point when the log is empty. */
  public long lastIndex() {
    wal.stateLock.readLock().lock();
    try {
      return g.lastIndex();
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  /** Last index known to be on disk. */
  public long durableIndex() {
    return g.durableIndex;
  }

  /**
   * Term of the entry at {@code index}; also answers for the compaction point itself, so Raft can
   * check the previous entry of the first one it still has. Never does I/O.
   */
  public long term(long index) {
    wal.stateLock.readLock().lock();
    try {
      if (index == g.compactIndex) {
        return g.compactTerm;
      }
      checkRange(index, index + 1);
      return g.terms.termOf(index);
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  public WalEntry entry(long index) {
    return entries(index, index + 1, 0).get(0);
  }

  /**
   * Entries in [{@code from}, {@code to}), stopping early once their payloads pass
   * {@code maxBytes} (but always at least one, so a large entry cannot stall replication).
   * Recent entries come from memory; older ones are read from the segments and checked against
   * their checksums, so damage is reported here rather than replicated.
   */
  public List<WalEntry> entries(long from, long to, long maxBytes) {
    if (from >= to) {
      return List.of();
    }
    wal.stateLock.readLock().lock();
    try {
      checkRange(from, to);
      return wal.reader.read(g, from, to, maxBytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  private void checkRange(long from, long to) {
    if (from <= g.compactIndex) {
      throw new IndexOutOfBoundsException("index " + from + " is compacted (first index is "
          + (g.compactIndex + 1) + ")");
    }
    if (to - 1 > g.lastIndex()) {
      throw new IndexOutOfBoundsException("index " + (to - 1) + " is past the last index "
          + g.lastIndex());
    }
  }

  // ------------------------------------------------------------------------- state and cuts

  /**
   * The group's hard state: the latest one written (durable once the write that carried it was
   * forced), with the {@link RecoveryCut} still pending, if any. The log's own group reads its
   * {@code hardstate} file.
   */
  public WalHardState hardState() {
    if (g.fileBacked) {
      return wal.hardState().load();
    }
    wal.stateLock.readLock().lock();
    try {
      return g.hardState;
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  /** What this open cut from the group's log that may have been forced (NONE: nothing). */
  public RecoveryCut recoveryCut() {
    return g.cutAtOpen;
  }

  @Override
  public String toString() {
    return "GroupLog[" + g.id + " of " + wal.options.dir() + "]";
  }
}
