package io.flotilla.wal;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frees segments no group needs. A segment can go once every group's oldest needed record (its
 * first entry, latest hard state, latest compaction or reset: {@link GroupState#oldestNeeded}) is
 * in a later one; segments go oldest first, so the log on disk is always a suffix of its history
 * and every truncate or remove record stays as long as anything it overrides (docs/wal.md,
 * "Reclaiming segments").
 *
 * <p>One idle group must not hold a node's whole log: when more than
 * {@link WalOptions#retainedSegments()} segments are live, the groups that pin the oldest one and
 * have at most {@link WalOptions#rewriteBytes()} (and a quarter segment) of live records get them
 * rewritten at the head (a
 * reset record at their compaction point, their entries, their hard state, in one forced write),
 * after which the segment goes. A group with more than that is reported to the listener as one
 * that should compact ({@link WalListener#onCompactionWanted}). Runs under the writeLock with
 * nothing unforced.
 */
final class Reclaimer {
  private static final Logger LOG = LoggerFactory.getLogger(Reclaimer.class);

  private final Wal wal;
  private final WalOptions options;

  Reclaimer(Wal wal) {
    this.wal = wal;
    this.options = wal.options;
  }

  /** Deletes the segments no group needs; rewrites laggards when too many are left. */
  void reclaim() throws IOException {
    reclaim(null);
  }

  /** As {@link #reclaim()}, adding one line per deleted segment to {@code events} when given. */
  void reclaim(List<String> events) throws IOException {
    deleteUnneeded(events);
    List<Segment> segs = wal.segments;
    if (segs.size() <= options.retainedSegments()) {
      return;
    }
    Segment oldest = segs.get(0);
    // Rewriting a group that fills segments of its own frees nothing it would not fill again.
    long limit = Math.min(options.rewriteBytes(), options.segmentBytes() / 4);
    List<GroupState> laggards = new ArrayList<>();
    wal.stateLock.readLock().lock();
    try {
      for (GroupState g : wal.groups.values()) {
        if (g.oldestNeeded() == oldest) {
          long live = liveBytes(g, limit);
          if (live <= limit) {
            laggards.add(g);
          } else {
            wal.listener.onCompactionWanted(g.id, live);
          }
        }
      }
    } finally {
      wal.stateLock.readLock().unlock();
    }
    if (laggards.isEmpty()) {
      return;
    }
    for (GroupState g : laggards) {
      rewrite(g);
    }
    wal.writer.records.force();
    LOG.debug("{}: rewrote {} group(s) pinning {}", options.dir(), laggards.size(), oldest);
    deleteUnneeded(events);
  }

  private void deleteUnneeded(List<String> events) throws IOException {
    List<Segment> doomed = new ArrayList<>();
    wal.stateLock.writeLock().lock();
    try {
      Segment keepFrom = null;
      for (GroupState g : wal.groups.values()) {
        Segment s = g.oldestNeeded();
        if (s != null && (keepFrom == null || s.firstPosition < keepFrom.firstPosition)) {
          keepFrom = s;
        }
      }
      List<Segment> segs = wal.segments;
      while (!segs.isEmpty() && segs.get(0) != keepFrom) {
        Segment gone = segs.remove(0);
        doomed.add(gone);
        if (segs.isEmpty()) {
          wal.positionWhenEmpty = gone.endPosition();
          wal.tailRun.clear();
        }
      }
    } finally {
      wal.stateLock.writeLock().unlock();
    }
    wal.truncation.deleteSegments(doomed);
    for (Segment s : doomed) {
      if (events != null) {
        events.add("deleted compacted segment " + s.path.getFileName());
      }
    }
  }

  /** Bytes of g's live records, counting only up to {@code limit + 1}. */
  private static long liveBytes(GroupState g, long limit) {
    long n = 0;
    GroupIndex ix = g.index;
    for (long i = ix.first(); i <= ix.writtenLast() && n <= limit; i++) {
      Segment s = ix.segment(i);
      int o = ix.ordinal(i);
      n += s.endOf(o) - s.offsetOf(o);
    }
    return n;
  }

  /**
   * Writes g's live records again at the head: a reset at its compaction point (replay drops what
   * came before), its written entries, its latest hard state. Entries accepted but not yet written
   * are queued behind this and follow it.
   */
  private void rewrite(GroupState g) throws IOException {
    List<WalEntry> entries = new ArrayList<>();
    long compactIndex;
    long compactTerm;
    wal.stateLock.readLock().lock();
    try {
      compactIndex = g.compactIndex;
      compactTerm = g.compactTerm;
      long from = g.index.first();
      long to = g.index.writtenLast() + 1;
      while (from < to) {
        List<WalEntry> some = wal.reader.read(g, from, to, 1 << 20);
        entries.addAll(some);
        from += some.size();
      }
    } finally {
      wal.stateLock.readLock().unlock();
    }
    RecordWriter out = wal.writer.records;
    out.marker(g, RecordFormat.TYPE_RESET, compactIndex, compactTerm);
    for (WalEntry e : entries) {
      out.entry(g, e);
    }
    if (!g.fileBacked && g.hardStateSegment != null) {
      out.hardState(g, g.writtenHardState);
    }
  }
}
