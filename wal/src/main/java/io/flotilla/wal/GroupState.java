package io.flotilla.wal;

/**
 * Everything the log keeps in memory for one Raft group: its entries ({@link GroupIndex}), their
 * terms, its compaction point, its hard state, and which segments it still needs. Guarded by the
 * log's state lock, except where a field says otherwise.
 *
 * <p>The log's own group (the one the single-group {@link Wal} API serves) keeps its hard state and
 * compaction point in the files of earlier builds ({@code fileBacked}); every other group keeps
 * them in records of the shared log (docs/wal.md, "Records").
 */
final class GroupState {
  final long id;
  /** Hard state and compaction point live in the hardstate and compaction files. */
  final boolean fileBacked;
  final GroupIndex index = new GroupIndex();
  final TermRuns terms = new TermRuns();
  long compactIndex;
  long compactTerm;
  /** The latest hard state written (or, file-backed, saved); durable once a force covered it. */
  WalHardState hardState = WalHardState.EMPTY;
  /** The hard state of the latest hard-state record the writer encoded (what a rewrite copies). */
  WalHardState writtenHardState = WalHardState.EMPTY;
  /** Segment of the latest hard-state record, compaction or reset record; null when none. */
  Segment hardStateSegment;
  Segment markerSegment;
  /** The cut this open made in this group's log (NONE: none). */
  RecoveryCut cutAtOpen = RecoveryCut.NONE;
  /** Last index covered by a force; read without the lock. */
  volatile long durableIndex;
  /** Set when the group was removed: its handles refuse further use. */
  volatile boolean removed;
  /** The writer's: which write group last counted this group (for the listener's group count). */
  long forceMark;

  GroupState(long id, boolean fileBacked) {
    this.id = id;
    this.fileBacked = fileBacked;
  }

  long firstIndex() {
    return compactIndex + 1;
  }

  long lastIndex() {
    return index.isEmpty() ? compactIndex : index.last();
  }

  /** Term of the last entry, or of the compaction point when the log is empty. */
  long lastTerm() {
    return index.isEmpty() ? compactTerm : terms.lastTerm();
  }

  /** Whether the group holds anything a reopen must find: entries, a hard state, a compaction. */
  boolean hasRecords() {
    return !index.isEmpty() || hardStateSegment != null || markerSegment != null;
  }

  /**
   * The oldest segment holding a record this group still needs: its first entry (later entries
   * are in the same or later segments, since a group's live entries were written in index order),
   * its latest hard state, its latest compaction or reset. Null when it needs none. A segment
   * older than every group's oldest needed segment holds nothing anyone needs (docs/wal.md,
   * "Reclaiming segments").
   */
  Segment oldestNeeded() {
    Segment s = null;
    if (!index.isEmpty() && index.writtenLast() >= index.first()) {
      s = index.segment(index.first());
    }
    s = older(s, hardStateSegment);
    return older(s, markerSegment);
  }

  private static Segment older(Segment a, Segment b) {
    if (a == null) {
      return b;
    }
    if (b == null) {
      return a;
    }
    return a.firstPosition <= b.firstPosition ? a : b;
  }

  @Override
  public String toString() {
    return "group " + id;
  }
}
