package io.flotilla.wal;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A segmented, checksummed, group-committed write-ahead log holding the logs of any number of Raft
 * groups ({@link #group(long)}), each with dense indexes, a hard state and a compaction point of
 * its own, in one sequence of segment files with one writer: one force makes every group's
 * writes durable, so the forces per second do not grow with the number of groups.
 *
 * <p>The single-group API of earlier builds ({@link #append(long, byte[])}, {@link #entries},
 * {@link #hardState()}, ...) is the log of the group {@link WalOptions#groupId()}, whose hard
 * state and compaction point stay in the {@code hardstate} and {@code compaction} files beside the
 * segments. A node's shared log is opened with {@link WalOptions#shared} (no group of its own).
 *
 * <p>Threads: any number of threads may append and read. Appends take a short lock to check
 * indexes and queue the records; one writer thread drains the queue, writes everything queued as
 * one write and forces once if anyone waits (group commit), then completes the futures. A future
 * never completes before the force that made its entries durable returned. Futures complete on the
 * writer thread: attach heavy work with the {@code *Async} variants. Writes of a caller that
 * would only wait for the writer anyway ({@link GroupLog#appendDurably}, {@link GroupLog#write},
 * {@link #sync()}) run on the calling thread when nothing else is queued or being written, which
 * saves the two thread hand-offs (wake the writer, wake the caller) that cost more CPU than the
 * write itself on a small VM.
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
  private RecoveryReport report;

  /** Serialises admission (index checks) and queueing; truncations hold it until done. */
  final ReentrantLock appendLock = new ReentrantLock();
  /** Guards the segments, every group's state and the tail run against the writer's updates. */
  final ReentrantReadWriteLock stateLock = new ReentrantReadWriteLock();
  final List<Segment> segments;
  final ConcurrentHashMap<Long, GroupState> groups = new ConcurrentHashMap<>();
  final TailRun tailRun;
  /** Position of the next segment when none is left (the writer's; under writeLock). */
  long positionWhenEmpty = 1;
  private boolean rolled;
  /** The log's own group (the single-group API), or null for a shared log. */
  private final GroupLog own;

  final LinkedBlockingQueue<WalWriter.Op> queue = new LinkedBlockingQueue<>();
  /** Ops queued and not yet processed: increased under appendLock, decreased by the writer. */
  final AtomicInteger outstanding = new AtomicInteger();
  /** Held for a writer round and for an inline write: one of them touches the files at a time. */
  final ReentrantLock writeLock = new ReentrantLock();
  /** Sequence of the last write admitted (under appendLock) and of the last one forced. */
  private volatile long writeSeq;
  private volatile long durableSeq;
  final WalWriter writer;
  final SegmentReader reader;
  final WalTruncation truncation;
  final Reclaimer reclaimer;
  private volatile Throwable failure;
  private volatile boolean closed;
  private final Thread writerThread;

  private Wal(WalOptions options, WalListener listener, DirLock dirLock, WalRecovery.State state) {
    this.options = options;
    this.listener = listener;
    this.dirLock = dirLock;
    this.hardState = state.hardState();
    this.segments = new ArrayList<>(state.segments());
    this.groups.putAll(state.groups());
    this.tailRun = state.tailRun();
    GroupState ownState = groups.get(options.groupId());
    this.own = ownState == null ? null : new GroupLog(this, ownState);
    this.reader = new SegmentReader(this);
    this.truncation = new WalTruncation(this);
    this.reclaimer = new Reclaimer(this);
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
    Wal wal;
    WalRecovery.State state;
    try {
      state = new WalRecovery(options).recover();
      wal = new Wal(options, listener, lock, state);
    } catch (IOException | RuntimeException e) {
      lock.close();
      throw e;
    }
    try {
      wal.finishOpen(state);
    } catch (IOException | RuntimeException e) {
      wal.close();
      throw e;
    }
    for (String e : wal.report.events()) {
      LOG.warn("{}: {}", options.dir(), e);
    }
    return wal;
  }

  /**
   * Frees the segments no group needs (a compaction cut short by a crash is finished here) and
   * writes each recovery cut saved for a group with its state in records into a hard-state record
   * of that group, then drops the file that held them (docs/wal.md, "Recovery on open").
   */
  private void finishOpen(WalRecovery.State state) throws IOException {
    List<String> events = new ArrayList<>(state.events());
    Map<Long, RecoveryCut> cuts = new TreeMap<>();
    writeLock.lock();
    try {
      reclaimer.reclaim(events);
      Map<Long, RecoveryCut> pending = state.pendingCuts().cuts();
      for (Map.Entry<Long, RecoveryCut> e : pending.entrySet()) {
        GroupState g = groups.get(e.getKey());
        WalHardState hs = g.hardState.withCut(g.hardState.cut().merge(e.getValue()));
        g.hardState = hs;
        g.writtenHardState = hs;
        writer.records.hardState(g, hs);
      }
      if (!pending.isEmpty()) {
        writer.records.force();
        state.pendingCuts().delete();
      }
    } finally {
      writeLock.unlock();
    }
    for (GroupState g : groups.values()) {
      if (!g.cutAtOpen.isNone()) {
        cuts.put(g.id, g.cutAtOpen);
      }
    }
    GroupState o = own == null ? null : own.g;
    report = new RecoveryReport(segments.size(), o == null ? 1 : o.firstIndex(),
        o == null ? 0 : o.lastIndex(), state.tornBytes(), state.repaired(),
        state.firstLostIndex(), state.lostBytes(), o == null ? RecoveryCut.NONE : o.cutAtOpen,
        events, cuts);
  }

  public RecoveryReport recoveryReport() {
    return report;
  }

  // ------------------------------------------------------------------------------ the groups

  /**
   * The log of group {@code groupId} (created empty on first use; it reaches the disk with its
   * first write). The log's own group is the one the single-group methods of this class serve.
   */
  public GroupLog group(long groupId) {
    if (groupId < 0) {
      throw new IllegalArgumentException("group ids are not negative: " + groupId);
    }
    if (own != null && groupId == own.groupId()) {
      return own;
    }
    return new GroupLog(this, groups.computeIfAbsent(groupId, id -> new GroupState(id, false)));
  }

  /** The groups with anything in this log (or asked for since it opened), in no order. */
  public List<Long> groups() {
    return List.copyOf(groups.keySet());
  }

  /**
   * Durably forgets group {@code groupId} (its replica left this node): a remove record makes all
   * its records garbage, the segments they pinned are reclaimed, and handles of it refuse further
   * use. A later {@link #group(long)} of the same id starts empty.
   */
  public void removeGroup(long groupId) throws IOException {
    if (own != null && groupId == own.groupId()) {
      throw new IllegalArgumentException("group " + groupId + " is the log's own group");
    }
    appendLock.lock();
    try {
      GroupState g = groups.get(groupId);
      if (g != null) {
        runExclusive(WalWriter.Kind.REMOVE, g, 0, 0);
      }
    } finally {
      appendLock.unlock();
    }
  }

  /**
   * Makes every write that returned before this call durable, with one force for all groups; a
   * cheap no-op when nothing was written since the last force. Forces on the calling thread when
   * the writer is idle, otherwise behind the writer's queue.
   */
  public void sync() throws IOException {
    long target = writeSeq;
    if (durableSeq >= target) {
      throwIfFailed();
      return;
    }
    CompletableFuture<Long> f = new CompletableFuture<>();
    boolean inline;
    appendLock.lock();
    try {
      if (!admit(f)) {
        WalWriter.await(f);
      }
      inline = outstanding.get() == 0 && !Thread.currentThread().isInterrupted()
          && writeLock.tryLock();
      if (!inline) {
        enqueue(new WalWriter.Sync(f));
      }
    } finally {
      appendLock.unlock();
    }
    if (!inline) {
      WalWriter.await(f);
      return;
    }
    try {
      if (durableSeq < target) {
        writer.syncInline();
      }
    } finally {
      writeLock.unlock();
    }
    throwIfFailed();
  }

  private void throwIfFailed() throws WalFailedException {
    Throwable t = failure;
    if (t != null) {
      throw new WalFailedException(t);
    }
  }

  // ------------------------------------------------------------ the own group (single-group API)

  private GroupLog own() {
    if (own == null) {
      throw new IllegalStateException("a shared log has no group of its own: use group(id)");
    }
    return own;
  }

  /** The hard-state file of the log's own group. */
  public HardStateFile hardState() {
    own();
    return hardState;
  }

  /** Appends one entry at the next index. The future completes with that index once durable. */
  public CompletableFuture<Long> append(long term, byte[] payload) {
    return own().append(term, payload);
  }

  /** See {@link GroupLog#append(List)}. */
  public CompletableFuture<Long> append(List<WalEntry> entries) {
    return own().append(entries);
  }

  /** See {@link GroupLog#appendDurably}. */
  public long appendDurably(List<WalEntry> entries) throws IOException {
    return own().appendDurably(entries);
  }

  /** See {@link GroupLog#truncateSuffix}. */
  public void truncateSuffix(long index) throws IOException {
    own().truncateSuffix(index);
  }

  /** See {@link GroupLog#truncatePrefix}. */
  public void truncatePrefix(long index, long term) throws IOException {
    own().truncatePrefix(index, term);
  }

  public long firstIndex() {
    return own().firstIndex();
  }

  public long lastIndex() {
    return own().lastIndex();
  }

  public long durableIndex() {
    return own().durableIndex();
  }

  public long term(long index) {
    return own().term(index);
  }

  public WalEntry entry(long index) {
    return own().entry(index);
  }

  public List<WalEntry> entries(long from, long to, long maxBytes) {
    return own().entries(from, to, maxBytes);
  }

  // --------------------------------------------------------------------- for the other classes

  /** Runs under appendLock: the only way anything reaches the writer. */
  void enqueue(WalWriter.Op op) {
    outstanding.incrementAndGet();
    queue.add(op);
  }

  /** Runs under appendLock: the sequence number of a write being admitted. */
  long nextSeq() {
    return ++writeSeq;
  }

  /** Runs under appendLock; false (and f failed) when the log takes no more writes. */
  boolean admit(CompletableFuture<?> f) {
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

  /** Runs under appendLock: queues a truncation (or the like) and waits until it is durable. */
  void runExclusive(WalWriter.Kind kind, GroupState g, long index, long term) throws IOException {
    CompletableFuture<Void> f = new CompletableFuture<>();
    if (admit(f)) {
      enqueue(new WalWriter.Exclusive(kind, g, index, term, f));
    }
    WalWriter.await(f);
  }

  /** The writer forced every write up to sequence {@code seq}. */
  void markDurable(long seq) {
    if (seq > durableSeq) {
      durableSeq = seq;
    }
  }

  /** The writer started a new segment: reclaiming may free old ones once it forced. */
  void rolled() {
    rolled = true;
  }

  boolean reclaimDue() {
    boolean due = rolled;
    rolled = false;
    return due;
  }

  /**
   * Position of a new segment when none is left (the writer's, under writeLock): after the own
   * group's last written index when there is one, so that a log that only ever held its own group
   * names each segment by the index of its first entry, as earlier builds did.
   */
  long nextPositionWhenEmpty() {
    if (own == null) {
      return positionWhenEmpty;
    }
    stateLock.readLock().lock();
    try {
      return Math.max(positionWhenEmpty, own.g.index.writtenLast() + 1);
    } finally {
      stateLock.readLock().unlock();
    }
  }

  /** Each group's share of the cache budget (see docs/wal.md, "Reads"). */
  long cacheBudgetPerGroup() {
    return options.cacheBytes() / Math.max(1, groups.size());
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
  WalCorruptionException corruptOnRead(Segment seg, long offset, String detail) {
    WalCorruptionException e = new WalCorruptionException(seg.path, offset, detail);
    failure = e;
    return e;
  }

  Throwable failure() {
    return failure;
  }

  // ------------------------------------------------------------------------------- lifecycle

  /** Completes (or fails) everything queued, forces what was written, stops the writer, unlocks. */
  @Override
  public void close() throws IOException {
    appendLock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      enqueue(new WalWriter.Close(new CompletableFuture<>()));
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
