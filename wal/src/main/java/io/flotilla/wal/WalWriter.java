package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.zip.CRC32C;

/**
 * The log's only writer. It takes everything queued since its last round, encodes all appends into
 * one buffer, writes it with as few system calls as the buffer allows, forces once, publishes the
 * record positions, and only then completes the appenders' futures. Truncations and close are
 * queued too, so they happen in order with the appends around them (the cuts themselves are
 * {@link WalTruncation}'s).
 */
final class WalWriter implements Runnable {

  /** Work for the writer, in queue order. */
  sealed interface Op permits Append, TruncateSuffix, TruncatePrefix, Close {
    CompletableFuture<?> future();
  }

  record Append(WalEntry[] entries, CompletableFuture<Long> future) implements Op {}

  record TruncateSuffix(long index, CompletableFuture<Void> future) implements Op {}

  record TruncatePrefix(long index, long term, CompletableFuture<Void> future) implements Op {}

  record Close(CompletableFuture<Long> future) implements Op {}

  private static final int ZERO_CHUNK = 1 << 20;
  /** A write at least this large grows the file instead of using zero-filled space. */
  static final int LARGE_WRITE_BYTES = 256 << 10;
  private static final int MAX_OPS_PER_ROUND = 4096;

  private final Wal wal;
  private final WalOptions options;
  private final CRC32C crc = new CRC32C();
  private final ByteBuffer zeros = ByteBuffer.allocateDirect(ZERO_CHUNK);
  private ByteBuffer buf;

  /** Offset in the active segment where the buffer's bytes go. */
  private long bufFileOffset;
  /** Offset in the active segment of the first record written since the last force. */
  private int groupStart;
  /** Records encoded since the last force, to publish after it: parallel arrays. */
  private long pendingFirstIndex;
  private int pendingCount;
  private long[] pendingOffsets = new long[1024];
  private final List<Segment> pendingSegments = new ArrayList<>();
  private final List<Integer> pendingSegmentStarts = new ArrayList<>();
  private final List<Append> pendingAppends = new ArrayList<>();
  private final WalListener listener;
  /** Bytes and write time of the group being committed, for the listener. */
  private long groupBytes;
  private long groupWriteNanos;

  WalWriter(Wal wal) {
    this.wal = wal;
    this.options = wal.options;
    this.buf = ByteBuffer.allocateDirect(options.maxBatchBytes()).order(ByteOrder.LITTLE_ENDIAN);
    this.listener = wal.listener;
  }

  @Override
  public void run() {
    List<Op> round = new ArrayList<>();
    while (true) {
      try {
        round.add(wal.queue.take());
      } catch (InterruptedException e) {
        // Only close() ends the writer; an interrupt from elsewhere is not a reason to stop.
        continue;
      }
      wal.queue.drainTo(round, MAX_OPS_PER_ROUND);
      wal.writeLock.lock();
      try {
        if (!processRound(round)) {
          return;
        }
      } finally {
        wal.outstanding.addAndGet(-round.size());
        wal.writeLock.unlock();
      }
      round.clear();
    }
  }

  /**
   * Writes one append on the calling thread, which holds {@code wal.writeLock} with nothing
   * queued or in progress (checked by {@link Wal#appendDurably}): the same encode and force as a
   * round of the writer thread, without handing the work to it and back.
   */
  void writeInline(Append a) {
    try {
      if (wal.failure() != null) {
        a.future().completeExceptionally(new WalFailedException(wal.failure()));
        return;
      }
      encode(a);
      commitPending();
    } catch (Throwable t) {
      failAll(t, List.of());
    }
  }

  /**
   * Blocks until {@code f}, the future of an op this writer completes (or {@code Wal} failed before
   * queueing), is done; rethrows its failure as the I/O or runtime exception it is. An interrupt
   * does not end the wait, since the op runs whether or not anyone waits and the caller must not
   * return before it has; it is restored on the way out.
   */
  static <T> T await(CompletableFuture<T> f) throws IOException {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return f.get();
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          if (c instanceof IOException io) {
            throw io;
          }
          if (c instanceof RuntimeException re) {
            throw re;
          }
          throw new WalException("WAL operation failed", c);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** One round under the write lock; false once the log is closed. */
  private boolean processRound(List<Op> round) {
    try {
      if (wal.failure() != null) {
        // Failed by an inline write: nothing more reaches the files.
        WalFailedException failed = new WalFailedException(wal.failure());
        boolean closing = false;
        for (Op op : round) {
          if (op instanceof Close c) {
            c.future().complete(0L);
            closing = true;
          } else {
            op.future().completeExceptionally(failed);
          }
        }
        return !closing;
      }
      for (Op op : round) {
        if (op instanceof Append a) {
          encode(a);
          continue;
        }
        commitPending();
        if (op instanceof TruncateSuffix t) {
          wal.truncation.truncateSuffix(t.index());
          t.future().complete(null);
        } else if (op instanceof TruncatePrefix t) {
          wal.truncation.truncatePrefix(t.index(), t.term());
          t.future().complete(null);
        } else if (op instanceof Close c) {
          c.future().complete(0L);
          failRemaining(round, op, new WalException("WAL is closed"));
          return false;
        } else {
          throw new AssertionError(op);
        }
      }
      commitPending();
      return true;
    } catch (Throwable t) {
      failAll(t, round);
      return round.stream().noneMatch(op -> op instanceof Close);
    }
  }

  /** An I/O error: the log is failed for good; everything pending, in hand or queued fails. */
  private void failAll(Throwable t, List<Op> round) {
    wal.fail(t);
    WalFailedException failed = new WalFailedException(t);
    for (Append a : pendingAppends) {
      a.future().completeExceptionally(failed);
    }
    pendingAppends.clear();
    pendingSegments.clear();
    pendingSegmentStarts.clear();
    pendingCount = 0;
    buf.clear();
    for (Op op : round) {
      if (op instanceof Close c) {
        c.future().complete(0L);
      } else {
        op.future().completeExceptionally(failed);
      }
    }
  }

  /** After close: anything queued behind the close op fails rather than hanging. */
  private void failRemaining(List<Op> round, Op closeOp, Throwable cause) {
    boolean after = false;
    for (Op op : round) {
      if (after) {
        op.future().completeExceptionally(cause);
      }
      after |= op == closeOp;
    }
    drainAndFail(cause);
  }

  private void drainAndFail(Throwable cause) {
    List<Op> rest = new ArrayList<>();
    wal.queue.drainTo(rest);
    for (Op op : rest) {
      op.future().completeExceptionally(cause);
    }
  }

  // ------------------------------------------------------------------------------ appending

  private void encode(Append a) throws IOException {
    if (pendingAppends.isEmpty() && pendingCount == 0) {
      pendingFirstIndex = a.entries()[0].index();
    }
    pendingAppends.add(a);
    for (WalEntry e : a.entries()) {
      int size = e.encodedSize();
      Segment seg = activeSegment(e.index(), size);
      if (size > buf.remaining()) {
        flushBuffer(seg);
        if (size > buf.capacity()) {
          buf = ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
        }
      }
      long offset = bufFileOffset + buf.position();
      RecordFormat.encode(buf, e, groupStart, options.groupId(), crc);
      if (pendingCount == pendingOffsets.length) {
        pendingOffsets = java.util.Arrays.copyOf(pendingOffsets, pendingCount * 2);
      }
      pendingOffsets[pendingCount++] = offset;
    }
  }

  /**
   * The segment the record for {@code index} goes to: the last one, unless it is full (then it is
   * finished and a new one started) or there is none.
   */
  private Segment activeSegment(long index, int recordSize) throws IOException {
    Segment seg = lastSegment();
    if (seg != null) {
      long end = bufFileOffset + buf.position();
      boolean hasRecords = seg.count() > 0 || end > RecordFormat.SEGMENT_HEADER_SIZE;
      if (!hasRecords || end + recordSize <= options.segmentBytes()) {
        return seg;
      }
      flushBuffer(seg);
      force(seg);
      finishSegment(seg);
    }
    Segment fresh = createSegment(index);
    bufFileOffset = fresh.dataEnd;
    groupStart = (int) fresh.dataEnd;
    pendingSegments.add(fresh);
    pendingSegmentStarts.add(pendingCount);
    return fresh;
  }

  private Segment lastSegment() {
    List<Segment> segs = wal.segments;
    if (segs.isEmpty()) {
      return null;
    }
    Segment seg = segs.get(segs.size() - 1);
    if (pendingSegments.isEmpty() || pendingSegments.get(pendingSegments.size() - 1) != seg) {
      // First record for this segment in this group: start the group at its end.
      pendingSegments.add(seg);
      pendingSegmentStarts.add(pendingCount);
      bufFileOffset = seg.dataEnd;
      groupStart = (int) seg.dataEnd;
    }
    return seg;
  }

  private void flushBuffer(Segment seg) throws IOException {
    buf.flip();
    int n = buf.remaining();
    if (n > 0) {
      long t0 = System.nanoTime();
      ensureAllocated(seg, bufFileOffset + n, n);
      long pos = bufFileOffset;
      while (buf.hasRemaining()) {
        pos += seg.channel.write(buf, pos);
      }
      bufFileOffset += n;
      seg.dataEnd = bufFileOffset;
      groupBytes += n;
      groupWriteNanos += System.nanoTime() - t0;
    }
    buf.clear();
  }

  /**
   * Makes room for a write ending at {@code needEnd}. Small writes land in zero-filled space ahead
   * of the writer, so their force has no file-size metadata to sync (about 1.8x more small forces
   * per second on ext4). A large write skips the zero-fill: writing every byte twice would cost
   * more bandwidth than one size update per force, which a large write amortizes anyway.
   */
  private void ensureAllocated(Segment seg, long needEnd, long writeBytes) throws IOException {
    if (needEnd <= seg.allocated) {
      return;
    }
    long step = options.preallocateBytes();
    if (step == 0 || writeBytes >= LARGE_WRITE_BYTES) {
      seg.allocated = needEnd;
      return;
    }
    long target = Math.max(needEnd, Math.min(seg.allocated + step,
        Math.max(options.segmentBytes(), needEnd)));
    target = (target + 4095) & ~4095L;
    long pos = seg.allocated;
    while (pos < target) {
      zeros.clear().limit((int) Math.min(ZERO_CHUNK, target - pos));
      pos += seg.channel.write(zeros, pos);
    }
    seg.allocated = target;
  }

  private void force(Segment seg) throws IOException {
    if (options.sync()) {
      seg.channel.force(false);
    }
  }

  /** Writes, forces and publishes everything encoded since the last force; then acknowledges. */
  private void commitPending() throws IOException {
    if (pendingAppends.isEmpty()) {
      return;
    }
    Segment seg = wal.segments.get(wal.segments.size() - 1);
    flushBuffer(seg);
    long t0 = System.nanoTime();
    force(seg);
    long forceNanos = System.nanoTime() - t0;
    long last = pendingFirstIndex + pendingCount - 1;
    wal.stateLock.writeLock().lock();
    try {
      for (int s = 0; s < pendingSegments.size(); s++) {
        Segment target = pendingSegments.get(s);
        int from = pendingSegmentStarts.get(s);
        int to = s + 1 < pendingSegments.size() ? pendingSegmentStarts.get(s + 1) : pendingCount;
        for (int k = from; k < to; k++) {
          target.addRecord(pendingFirstIndex + k, pendingOffsets[k]);
        }
        target.end = target.dataEnd;
      }
      wal.writtenIndex = last;
      wal.cache.evict(last);
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    wal.markDurable(last);
    listener.onCommit(pendingCount, groupBytes, groupWriteNanos, forceNanos);
    groupBytes = 0;
    groupWriteNanos = 0;
    for (Append a : pendingAppends) {
      WalEntry[] es = a.entries();
      a.future().complete(es[es.length - 1].index());
    }
    pendingAppends.clear();
    pendingSegments.clear();
    pendingSegmentStarts.clear();
    pendingCount = 0;
  }

  // ------------------------------------------------------------------------------- segments

  private Segment createSegment(long firstIndex) throws IOException {
    Path path = options.dir().resolve(Segment.fileName(firstIndex));
    FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    Segment seg = new Segment(firstIndex, path, ch, RecordFormat.SEGMENT_HEADER_SIZE, 0);
    ensureAllocated(seg, RecordFormat.SEGMENT_HEADER_SIZE, 0);
    ByteBuffer header = RecordFormat.segmentHeader(firstIndex, options.groupId());
    long pos = 0;
    while (header.hasRemaining()) {
      pos += ch.write(header, pos);
    }
    ch.force(true);
    Fsync.directory(options.dir());
    wal.stateLock.writeLock().lock();
    try {
      wal.segments.add(seg);
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    return seg;
  }

  /** A segment that stops being the last is trimmed to its data, so it holds no stray zeros. */
  private void finishSegment(Segment seg) throws IOException {
    seg.channel.truncate(seg.dataEnd);
    seg.allocated = seg.dataEnd;
    force(seg);
  }
}
