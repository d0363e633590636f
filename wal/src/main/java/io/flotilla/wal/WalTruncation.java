package io.flotilla.wal;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * Changes of a group's log other than appends: removing a suffix ({@code truncateSuffix}, Raft
 * conflict resolution), a prefix ({@code truncatePrefix}, compaction after a snapshot), all of it
 * ({@code reset}, a snapshot installed from the leader), or the whole group ({@code removeGroup}).
 * Both halves live here: what is checked before one is queued (under the appendLock, so no append
 * slips in between the check and the change), and what the writer does when the queue reaches it
 * (under the writeLock, after forcing everything written before it).
 *
 * <p>Separate from {@link WalWriter} because its crash rules are its own (docs/wal.md,
 * "Truncation"): a suffix is cut from the files themselves when only that group's entries stand
 * behind it (segments go newest first, the cut segment is truncated and forced, never
 * overwritten), otherwise a truncate record says so; a compaction point is durable (its file or
 * its record forced) before any segment goes; deletions are made durable with a directory force.
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
  boolean suffixToCut(GroupState g, long index) {
    wal.stateLock.readLock().lock();
    try {
      if (index <= g.compactIndex) {
        throw new IllegalArgumentException("cannot truncate at " + index
            + ": entries up to " + g.compactIndex + " are compacted (and so committed)");
      }
      return index <= g.lastIndex();
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  /**
   * Whether {@code truncatePrefix(index, term)} moves the compaction point; throws when the log
   * holds {@code index} with another term. The caller holds the appendLock.
   */
  boolean prefixToCompact(GroupState g, long index, long term) {
    wal.stateLock.readLock().lock();
    try {
      if (index <= g.compactIndex) {
        return false;
      }
      if (index <= g.lastIndex() && g.terms.termOf(index) != term) {
        throw new IllegalArgumentException("compaction at " + index + " with term " + term
            + " but the log has term " + g.terms.termOf(index) + " there");
      }
      return true;
    } finally {
      wal.stateLock.readLock().unlock();
    }
  }

  // -------------------------------------------------- the changes, run by the writer in order

  /** Runs on the writer's side under the writeLock, after everything before it was forced. */
  void run(WalWriter.Exclusive x) throws IOException {
    GroupState g = x.group();
    switch (x.kind()) {
      case TRUNCATE_SUFFIX -> truncateSuffix(g, x.index());
      case TRUNCATE_PREFIX -> truncatePrefix(g, x.index(), x.term());
      case RESET -> reset(g, x.index(), x.term());
      case REMOVE -> remove(g);
      default -> throw new AssertionError(x.kind());
    }
  }

  private void truncateSuffix(GroupState g, long index) throws IOException {
    Segment seg = g.index.segment(index);
    int ord = g.index.ordinal(index);
    boolean physical;
    wal.stateLock.readLock().lock();
    try {
      physical = wal.tailRun.covers(g, seg, ord);
    } finally {
      wal.stateLock.readLock().unlock();
    }
    if (physical) {
      cutFiles(g, index, seg, ord);
      return;
    }
    // Other groups' records (or this group's hard state) stand behind the cut: say it instead.
    wal.writer.records.marker(g, RecordFormat.TYPE_TRUNCATE, index, 0);
    wal.writer.records.force();
    wal.stateLock.writeLock().lock();
    try {
      forgetFrom(g, index);
    } finally {
      wal.stateLock.writeLock().unlock();
    }
  }

  /** Cuts the log at record {@code ord} of {@code seg}: everything from there on is g's entries. */
  private void cutFiles(GroupState g, long index, Segment seg, int ord) throws IOException {
    List<Segment> doomed = new ArrayList<>();
    long cutOffset;
    wal.stateLock.writeLock().lock();
    try {
      List<Segment> segs = wal.segments;
      while (segs.get(segs.size() - 1) != seg) {
        doomed.add(segs.remove(segs.size() - 1));
      }
      cutOffset = seg.cutAt(ord);
      if (ord == 0) {
        doomed.add(segs.remove(segs.size() - 1));
      }
      if (segs.isEmpty()) {
        wal.positionWhenEmpty = seg.firstPosition;
      }
      wal.tailRun.cutAt(seg, ord);
      forgetFrom(g, index);
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    // Newest first: a crash part-way leaves a prefix of the old log, never a log with a hole.
    deleteSegments(doomed);
    if (ord > 0) {
      // Cut the file itself, so no stale record beyond the new end can be mistaken for data.
      seg.channel.truncate(cutOffset);
      seg.channel.force(true);
      seg.dataEnd = cutOffset;
      seg.allocated = cutOffset;
    }
  }

  private void forgetFrom(GroupState g, long index) {
    g.index.truncateFrom(index);
    g.terms.truncateFrom(index);
    g.durableIndex = Math.min(g.durableIndex, index - 1);
  }

  private void truncatePrefix(GroupState g, long index, long term) throws IOException {
    // The compaction point is durable before any segment goes, so a crash in between only leaves
    // segments that recovery knows to reclaim.
    if (g.fileBacked) {
      WalRecovery.compactionFile(options.dir()).write(WalRecovery.encodeCompaction(index, term));
    } else {
      wal.writer.records.marker(g, RecordFormat.TYPE_COMPACT, index, term);
      wal.writer.records.force();
    }
    wal.stateLock.writeLock().lock();
    try {
      if (index >= g.lastIndex()) {
        emptyAt(g, index, term);
      } else {
        g.compactIndex = index;
        g.compactTerm = term;
        g.index.dropBefore(index + 1);
        g.terms.dropBefore(index + 1);
      }
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    wal.reclaimer.reclaim();
  }

  private void reset(GroupState g, long index, long term) throws IOException {
    wal.writer.records.marker(g, RecordFormat.TYPE_RESET, index, term);
    wal.writer.records.force();
    if (g.fileBacked) {
      // Recovery applies the file's point after the records, so it must not lag the reset's.
      WalRecovery.compactionFile(options.dir()).write(WalRecovery.encodeCompaction(index, term));
    }
    wal.stateLock.writeLock().lock();
    try {
      emptyAt(g, index, term);
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    wal.reclaimer.reclaim();
  }

  private static void emptyAt(GroupState g, long index, long term) {
    g.compactIndex = index;
    g.compactTerm = term;
    g.index.reset(index + 1);
    g.terms.clear();
    g.durableIndex = index;
  }

  private void remove(GroupState g) throws IOException {
    wal.writer.records.marker(g, RecordFormat.TYPE_REMOVE, 0, 0);
    wal.writer.records.force();
    wal.stateLock.writeLock().lock();
    try {
      wal.groups.remove(g.id, g);
      g.removed = true;
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    wal.reclaimer.reclaim();
  }

  /** Deletes in list order, then makes the deletions durable with one directory force. */
  void deleteSegments(List<Segment> doomed) throws IOException {
    for (Segment s : doomed) {
      s.close();
      Files.delete(s.path);
    }
    if (!doomed.isEmpty()) {
      Fsync.directory(options.dir());
    }
  }
}
