package io.flotilla.wal;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * Removing entries: a suffix ({@link Wal#truncateSuffix}, Raft conflict resolution) or a prefix
 * ({@link Wal#truncatePrefix}, compaction after a snapshot). Both halves of a truncation live here:
 * what {@link Wal} checks before queueing one (under its appendLock, so no append slips in between
 * the check and the cut), and what the writer does when the queue reaches it (under the writeLock,
 * after committing the appends queued before it).
 *
 * <p>Separate from {@link WalWriter} because its crash rules are its own (docs/wal.md,
 * "Truncation"): segments go newest first, so a crash part-way leaves a prefix of the old log and
 * never a hole; a shortened segment is cut on disk and forced, never overwritten; the compaction
 * point is durable before any segment goes; deletions are made durable with a directory force.
 */
final class WalTruncation {
  private final Wal wal;
  private final WalOptions options;

  WalTruncation(Wal wal) {
    this.wal = wal;
    this.options = wal.options;
  }

  // ------------------------------------------------------------- checks, under Wal's appendLock

  /**
   * Whether {@code truncateSuffix(index)} has anything to remove; throws when {@code index} is
   * compacted. The caller holds the appendLock.
   */
  boolean suffixToCut(long index) {
    wal.stateLock.readLock().lock();
    try {
      if (index <= wal.compactIndex) {
        throw new IllegalArgumentException("cannot truncate at " + index
            + ": entries up to " + wal.compactIndex + " are compacted (and so committed)");
      }
      return index <= wal.lastIndexUnderLock();
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  /**
   * Whether {@code truncatePrefix(index, term)} moves the compaction point; throws when the log
   * holds {@code index} with another term. The caller holds the appendLock.
   */
  boolean prefixToCompact(long index, long term) {
    wal.stateLock.readLock().lock();
    try {
      if (index <= wal.compactIndex) {
        return false;
      }
      if (index <= wal.lastIndexUnderLock() && index >= wal.compactIndex + 1
          && wal.terms.termOf(index) != term) {
        throw new IllegalArgumentException("compaction at " + index + " with term " + term
            + " but the log has term " + wal.terms.termOf(index) + " there");
      }
      return true;
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  // ------------------------------------------------------------ the cuts, run by the writer

  /** Runs on the writer's thread under the writeLock, after it committed the appends before it. */
  void truncateSuffix(long index) throws IOException {
    List<Segment> doomed = new ArrayList<>();
    Segment tail = null;
    long cutOffset = -1;
    wal.stateLock.writeLock().lock();
    try {
      List<Segment> segs = wal.segments;
      while (!segs.isEmpty() && segs.get(segs.size() - 1).firstIndex >= index) {
        doomed.add(segs.remove(segs.size() - 1));
      }
      if (!segs.isEmpty()) {
        tail = segs.get(segs.size() - 1);
        if (tail.lastIndex() >= index) {
          cutOffset = tail.cutAt(index);
        }
      }
      wal.cache.truncateFrom(index);
      wal.terms.truncateFrom(index);
      wal.setLastIndex(index - 1);
      wal.writtenIndex = Math.min(wal.writtenIndex, index - 1);
      wal.markDurable(Math.min(wal.durableIndex(), index - 1));
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    // Newest first: a crash part-way leaves a prefix of the old log, never a log with a hole.
    deleteSegments(doomed);
    if (cutOffset >= 0) {
      // Cut the file itself, so no stale record beyond the new end can be mistaken for data.
      tail.channel.truncate(cutOffset);
      tail.channel.force(true);
      tail.dataEnd = cutOffset;
      tail.allocated = cutOffset;
    }
  }

  /** Runs on the writer's thread under the writeLock, after it committed the appends before it. */
  void truncatePrefix(long index, long term) throws IOException {
    // The compaction point is durable before any segment goes, so a crash in between only leaves
    // segments that recovery knows to delete.
    WalRecovery.compactionFile(options.dir()).write(WalRecovery.encodeCompaction(index, term));
    List<Segment> doomed = new ArrayList<>();
    wal.stateLock.writeLock().lock();
    try {
      wal.compactIndex = index;
      wal.compactTerm = term;
      List<Segment> segs = wal.segments;
      if (index >= wal.lastIndexUnderLock()) {
        doomed.addAll(segs);
        segs.clear();
        wal.setLastIndex(index);
        wal.writtenIndex = index;
        wal.markDurable(index);
        wal.cache.reset(index + 1);
        wal.terms.clear();
      } else {
        while (segs.size() > 1 && segs.get(1).firstIndex - 1 <= index) {
          doomed.add(segs.remove(0));
        }
        wal.cache.dropBefore(index + 1);
        wal.terms.dropBefore(index + 1);
      }
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    deleteSegments(doomed);
  }

  /** Deletes in list order, then makes the deletions durable with one directory force. */
  private void deleteSegments(List<Segment> doomed) throws IOException {
    for (Segment s : doomed) {
      s.close();
      Files.delete(s.path);
    }
    if (!doomed.isEmpty()) {
      Fsync.directory(options.dir());
    }
  }
}
