package io.flotilla.wal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A segmented, checksummed, group-committed write-ahead log of {@link WalEntry entries} with dense
 * indexes, plus the {@link HardStateFile} of the same directory.
 *
 * <p>Threads: any number of threads may append and read. Appends take a short lock to assign or
 * check indexes and queue the entries; one writer thread drains the queue, writes everything
 * queued as one write and forces once (group commit), then completes the futures. A future never
 * completes before the force that made its entries durable returned. Futures complete on the writer
 * thread: attach heavy work with the {@code *Async} variants. {@link #appendDurably} is for a
 * caller that would only wait for the writer anyway (Raft's loop): when nothing else is queued or
 * being written it writes and forces on the calling thread, which saves the two thread hand-offs
 * (wake the writer, wake the caller) that cost more CPU than the write itself on a small VM.
 *
 * <p>Visibility: an appended entry is readable at once (from memory), before it is durable;
 * {@link #durableIndex()} says how far the log is on disk. Raft needs exactly this: a leader sends
 * entries to followers while its own force is in flight, and counts itself only once durable.
 *
 * <p>Failure: an I/O error while writing or forcing fails the log for good (see
 * {@link WalFailedException}); every pending and later write fails with it. Reopen to recover.
 */
public final class Wal implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Wal.class);

  final WalOptions options;
  final WalListener listener;
  private final DirLock dirLock;
  private final HardStateFile hardState;
  private final RecoveryReport report;

  /** Serialises index assignment and queueing; truncations hold it until done. */
  private final ReentrantLock appendLock = new ReentrantLock();
  /** Guards everything below against the writer's metadata updates. */
  final ReentrantReadWriteLock stateLock = new ReentrantReadWriteLock();
  final List<Segment> segments;
  final EntryCache cache;
  final TermRuns terms;
  long compactIndex;
  long compactTerm;
  /** Last index accepted (appended); entries up to here are readable. */
  private long lastIndex;
  /** Last index written to a file (maybe not yet forced); the cache may evict up to here. */
  long writtenIndex;
  private volatile long durableIndex;

  final LinkedBlockingQueue<WalWriter.Op> queue = new LinkedBlockingQueue<>();
  /** Ops queued and not yet processed: increased under appendLock, decreased by the writer. */
  final AtomicInteger outstanding = new AtomicInteger();
  /** Held for a writer round and for an inline write: one of them touches the files at a time. */
  final ReentrantLock writeLock = new ReentrantLock();
  private final WalWriter writer;
  /** The read path of {@link #entries}, run under the stateLock taken here. */
  private final SegmentReader reader;
  /** Checks truncations for this class and runs them for the writer (its crash rules). */
  final WalTruncation truncation;
  private volatile Throwable failure;
  private volatile boolean closed;
  private final Thread writerThread;

  private Wal(WalOptions options, WalListener listener, DirLock dirLock, HardStateFile hardState,
      WalRecovery.State state) throws IOException {
    this.options = options;
    this.listener = listener;
    this.dirLock = dirLock;
    this.hardState = hardState;
    this.report = state.report();
    this.segments = new ArrayList<>(state.segments());
    this.terms = state.terms();
    this.compactIndex = state.compactIndex();
    this.compactTerm = state.compactTerm();
    this.lastIndex = state.lastIndex();
    this.writtenIndex = lastIndex;
    this.durableIndex = lastIndex;
    this.cache = new EntryCache(options.cacheBytes());
    this.cache.reset(lastIndex + 1);
    this.reader = new SegmentReader(this);
    this.truncation = new WalTruncation(this);
    this.writer = new WalWriter(this);
    this.writerThread = new Thread(writer, "wal-writer-" + options.dir().getFileName());
    this.writerThread.setDaemon(true);
    this.writerThread.start();
  }

  /**
   * Opens (creating if needed) the log in {@code options.dir()}, recovering from whatever a crash
   * left: see docs/wal.md for the rules. Throws {@link WalCorruptionException} on damage that is not
   * a torn tail, and {@link WalLockedException} when the directory is already open.
   */
  public static Wal open(WalOptions options) throws IOException {
    return open(options, WalListener.NONE);
  }

  /** As {@link #open(WalOptions)}, reporting every group commit to {@code listener}. */
  public static Wal open(WalOptions options, WalListener listener) throws IOException {
    Files.createDirectories(options.dir());
    DirLock lock = DirLock.acquire(options.dir());
    try {
      WalRecovery.State state = new WalRecovery(options).recover();
      for (String e : state.report().events()) {
        LOG.warn("{}: {}", options.dir(), e);
      }
      return new Wal(options, listener, lock, state.hardState(), state);
    } catch (IOException | RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  public RecoveryReport recoveryReport() {
    return report;
  }

  public HardStateFile hardState() {
    return hardState;
  }

  // ---------------------------------------------------------------------------------- appends

  /**
   * Appends one entry at the next index. The future completes with that index once durable.
   */
  public CompletableFuture<Long> append(long term, byte[] payload) {
    AppendChecks.checkPayload(payload, options.maxEntryBytes());
    CompletableFuture<Long> f = new CompletableFuture<>();
    appendLock.lock();
    try {
      checkTerm(term);
      if (!admit(f)) {
        return f;
      }
      WalEntry e = new WalEntry(lastIndex + 1, term, payload);
      publish(e);
      enqueue(new WalWriter.Append(new WalEntry[] {e}, f));
    } finally {
      appendLock.unlock();
    }
    return f;
  }

  /**
   * Appends entries whose indexes the caller chose (Raft does): they must be dense and start right
   * after {@link #lastIndex()}; to replace a suffix, call {@link #truncateSuffix} first. The future
   * completes with the last index once all of them are durable.
   */
  public CompletableFuture<Long> append(List<WalEntry> entries) {
    if (entries.isEmpty()) {
      return CompletableFuture.completedFuture(durableIndex);
    }
    WalEntry[] batch = AppendChecks.checkedBatch(entries, options.maxEntryBytes());
    CompletableFuture<Long> f = new CompletableFuture<>();
    appendLock.lock();
    try {
      if (admitBatch(batch, f)) {
        enqueue(new WalWriter.Append(batch, f));
      }
    } finally {
      appendLock.unlock();
    }
    return f;
  }

  /**
   * As {@link #append(List)}, but returns only once the entries are durable (with the last index;
   * the log's durable index when {@code entries} is empty). When no other write is queued or in
   * progress, the write and the force run on the calling thread; otherwise the entries go to the
   * writer like any append and this waits for them. An interrupted caller always takes the
   * writer's path, since an interrupt during file I/O would close the file (and fail the log).
   * Throws {@link WalFailedException} (or {@link WalException} when closed) if they are not.
   */
  public long appendDurably(List<WalEntry> entries) throws IOException {
    if (entries.isEmpty()) {
      return durableIndex;
    }
    WalEntry[] batch = AppendChecks.checkedBatch(entries, options.maxEntryBytes());
    CompletableFuture<Long> f = new CompletableFuture<>();
    WalWriter.Append op = new WalWriter.Append(batch, f);
    boolean inline = false;
    appendLock.lock();
    try {
      if (!admitBatch(batch, f)) {
        return WalWriter.await(f);
      }
      // Nothing queued or in a writer round (appends queue under appendLock, so none can slip in
      // ahead): entries published before these are all written, and later ones wait for writeLock.
      inline = outstanding.get() == 0 && !Thread.currentThread().isInterrupted()
          && writeLock.tryLock();
      if (!inline) {
        enqueue(op);
      }
    } finally {
      appendLock.unlock();
    }
    if (inline) {
      try {
        writer.writeInline(op);
      } finally {
        writeLock.unlock();
      }
    }
    return WalWriter.await(f);
  }

  /** Runs under appendLock: checks the batch continues the log and publishes it, or fails f. */
  private boolean admitBatch(WalEntry[] batch, CompletableFuture<Long> f) {
    if (batch[0].index() != lastIndex + 1) {
      throw new IllegalArgumentException("append at " + batch[0].index() + " but the log ends at "
          + lastIndex + " (truncateSuffix first to replace entries)");
    }
    checkTerm(batch[0].term());
    if (!admit(f)) {
      return false;
    }
    for (WalEntry e : batch) {
      publish(e);
    }
    return true;
  }

  /** Runs under appendLock: the only way anything reaches the writer. */
  private void enqueue(WalWriter.Op op) {
    outstanding.incrementAndGet();
    queue.add(op);
  }

  /** Runs under appendLock; false (and f failed) when the log takes no more writes. */
  private boolean admit(CompletableFuture<?> f) {
    Throwable t = failure;
    if (t != null) {
      f.completeExceptionally(new WalFailedException(t));
      return false;
    }
    if (closed) {
      f.completeExceptionally(new WalException("WAL is closed"));
      return false;
    }
    return true;
  }

  /** Runs under appendLock: makes the entry readable before it is written. */
  private void publish(WalEntry e) {
    stateLock.writeLock().lock();
    try {
      terms.append(e.index(), e.term());
      cache.add(e);
      lastIndex = e.index();
    } finally {
      stateLock.writeLock().unlock();
    }
  }

  /** Runs under appendLock: Raft terms in a log never decrease. */
  private void checkTerm(long term) {
    stateLock.readLock().lock();
    try {
      long prev = lastIndex == compactIndex ? compactTerm : terms.lastTerm();
      if (term < prev) {
        throw new IllegalArgumentException("term " + term + " is below the last entry's term "
            + prev);
      }
    } finally {
      stateLock.readLock().unlock();
    }
  }

  // ------------------------------------------------------------------------------ truncation

  /**
   * Durably removes every entry at and after {@code index} (Raft conflict resolution). Returns once
   * the removal would survive a crash; appends from other threads wait meanwhile, so nothing is
   * accepted at {@code index} before the old entry is gone.
   */
  public void truncateSuffix(long index) throws IOException {
    appendLock.lock();
    try {
      if (truncation.suffixToCut(index)) {
        runExclusive(new WalWriter.TruncateSuffix(index, new CompletableFuture<>()));
      }
    } finally {
      appendLock.unlock();
    }
  }

  /**
   * Compacts the log after a snapshot at {@code index} (whose entry has {@code term}): durably
   * records the compaction point, then deletes every segment holding only entries at or below it.
   * When {@code index} is past the end of the log (a snapshot installed from the leader), the log
   * becomes empty and the next append must be at {@code index + 1}.
   */
  public void truncatePrefix(long index, long term) throws IOException {
    appendLock.lock();
    try {
      if (truncation.prefixToCompact(index, term)) {
        runExclusive(new WalWriter.TruncatePrefix(index, term, new CompletableFuture<>()));
      }
    } finally {
      appendLock.unlock();
    }
  }

  private void runExclusive(WalWriter.Op op) throws IOException {
    if (!admit(op.future())) {
      WalWriter.await(op.future());
    }
    enqueue(op);
    WalWriter.await(op.future());
  }

  // ----------------------------------------------------------------------------------- reads

  /** First readable index; equals compaction point + 1. */
  public long firstIndex() {
    stateLock.readLock().lock();
    try {
      return compactIndex + 1;
    } finally {
      stateLock.readLock().unlock();
    }
  }

  /** Last appended index (maybe not yet durable); the compaction point when the log is empty. */
  public long lastIndex() {
    stateLock.readLock().lock();
    try {
      return lastIndex;
    } finally {
      stateLock.readLock().unlock();
    }
  }

  /** Last index known to be on disk. */
  public long durableIndex() {
    return durableIndex;
  }

  /**
   * Term of the entry at {@code index}; also answers for the compaction point itself, so Raft can
   * check the previous entry of the first one it still has. Never does I/O.
   */
  public long term(long index) {
    stateLock.readLock().lock();
    try {
      if (index == compactIndex) {
        return compactTerm;
      }
      checkRange(index, index + 1);
      return terms.termOf(index);
    } finally {
      stateLock.readLock().unlock();
    }
  }

  public WalEntry entry(long index) {
    List<WalEntry> one = entries(index, index + 1, 0);
    return one.get(0);
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
    stateLock.readLock().lock();
    try {
      checkRange(from, to);
      return reader.read(from, to, maxBytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      stateLock.readLock().unlock();
    }
  }

  private void checkRange(long from, long to) {
    if (from <= compactIndex) {
      throw new IndexOutOfBoundsException("index " + from + " is compacted (first index is "
          + (compactIndex + 1) + ")");
    }
    if (to - 1 > lastIndex) {
      throw new IndexOutOfBoundsException("index " + (to - 1) + " is past the last index "
          + lastIndex);
    }
  }

  // --------------------------------------------------------------------- writer's callbacks

  /** Called by the writer, under the state lock, after a truncation. */
  void setLastIndex(long index) {
    lastIndex = index;
  }

  long lastIndexUnderLock() {
    return lastIndex;
  }

  void markDurable(long index) {
    durableIndex = index;
  }

  /** Called by the writer when an I/O error makes the log unusable. */
  void fail(Throwable t) {
    if (failure == null) {
      failure = t;
      LOG.error("WAL {} failed; it accepts no more writes until reopened", options.dir(), t);
    }
  }

  /**
   * Called by the {@link SegmentReader} when a record fails its checksum on read: the log is
   * corrupt, so it takes no more writes (set, not logged: the reader throws it to its caller).
   */
  void failCorrupt(WalCorruptionException e) {
    failure = e;
  }

  Throwable failure() {
    return failure;
  }

  // ------------------------------------------------------------------------------- lifecycle

  /** Completes (or fails) everything queued, stops the writer, releases the directory. */
  @Override
  public void close() throws IOException {
    appendLock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      CompletableFuture<Long> done = new CompletableFuture<>();
      enqueue(new WalWriter.Close(done));
    } finally {
      appendLock.unlock();
    }
    boolean interrupted = false;
    while (writerThread.isAlive()) {
      try {
        writerThread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    try {
      stateLock.writeLock().lock();
      try {
        for (Segment s : segments) {
          s.close();
        }
      } finally {
        stateLock.writeLock().unlock();
      }
    } finally {
      dirLock.close();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
