package io.flotilla.wal;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Rebuilds every group's state from the records of the log, in log order: entries (dense per
 * group), hard states (the latest wins), truncate, compact, reset and remove records. It is the
 * {@link SegmentScanner.Sink} of recovery: an intact record that cannot be where it is (an index
 * that does not continue its group, a term going back, an unknown type) is refused, which the
 * scanner reports as corruption at that record.
 *
 * <p>Segments are reclaimed oldest first, so the log may begin in the middle of a group's history,
 * and history a later record supersedes may have lost parts of itself: the first entry seen of a
 * group may have any index, an entry past the next expected index starts the group's run of
 * entries over, and only at the end is each group's log required to start right after its
 * compaction point ({@link #finish}). Every record a later one overrides is older than it, and
 * whole segments are never missing (their log positions are contiguous), so what replay keeps is
 * what the group had (docs/wal.md, "Recovery on open").
 */
final class Replay implements SegmentScanner.Sink {
  final Map<Long, GroupState> groups = new HashMap<>();
  final TailRun tailRun = new TailRun();
  /** The next index of a group whose run of entries is empty but whose next index is known. */
  private final Map<Long, Long> expected = new HashMap<>();
  private final GroupState own;

  /** {@code own}: the log's file-backed group, or null. */
  Replay(GroupState own) {
    this.own = own;
    if (own != null) {
      groups.put(own.id, own);
    }
  }

  @Override
  public String accept(ByteBuffer buf, int at, Segment seg, int ordinal) {
    byte type = buf.get(at + RecordFormat.OFF_TYPE);
    long id = buf.getLong(at + RecordFormat.OFF_GROUP);
    long index = buf.getLong(at + RecordFormat.OFF_INDEX);
    long term = buf.getLong(at + RecordFormat.OFF_TERM);
    if (id < 0) {
      return "record of group " + id;
    }
    GroupState g = groups.get(id);
    String wrong = switch (type) {
      case RecordFormat.TYPE_ENTRY -> entry(g, id, index, term, seg, ordinal);
      case RecordFormat.TYPE_HARD_STATE -> hardState(g, id, buf, at, seg);
      case RecordFormat.TYPE_TRUNCATE -> truncate(g, id, index);
      case RecordFormat.TYPE_COMPACT -> compact(g, id, index, term, seg);
      case RecordFormat.TYPE_RESET -> reset(state(g, id), index, term, seg);
      case RecordFormat.TYPE_REMOVE -> remove(g, id);
      default -> "unknown record type " + type;
    };
    if (wrong == null) {
      tailRun.note(groups.get(id), type, seg, ordinal);
    }
    return wrong;
  }

  private GroupState state(GroupState g, long id) {
    if (g == null) {
      g = new GroupState(id, false);
      groups.put(id, g);
    }
    return g;
  }

  private String entry(GroupState g, long id, long index, long term, Segment seg, int ordinal) {
    if (index <= 0) {
      return "entry record with index " + index;
    }
    Long next = g == null ? null : g.index.isEmpty() ? expected.get(id) : (Long) (g.index.last() + 1);
    if (next != null && index < next) {
      return "record index " + index + " of group " + id + " where " + next + " was expected";
    }
    if (next != null && index > next) {
      // A gap: what came before it is history a later record supersedes (a compaction past the
      // end, in the own group's file; a reset or removal; a compaction whose entries were
      // reclaimed), or finish() finds the group's log does not reach back to its compaction point.
      g.index.reset(index);
      g.terms.clear();
      next = null;
    }
    long prevTerm = g == null || next == null ? -1 : g.index.isEmpty() ? g.compactTerm
        : g.terms.lastTerm();
    if (term < prevTerm) {
      return "term " + term + " at index " + index + " of group " + id
          + " is below the previous entry's term " + prevTerm;
    }
    g = state(g, id);
    g.index.addLocated(index, seg, ordinal);
    g.terms.append(index, term);
    expected.remove(id);
    return null;
  }

  private String hardState(GroupState g, long id, ByteBuffer buf, int at, Segment seg) {
    WalHardState hs;
    try {
      hs = RecordFormat.decodeHardState(buf, at);
    } catch (IllegalArgumentException e) {
      return "hard state of group " + id + ": " + e.getMessage();
    }
    g = state(g, id);
    if (!g.fileBacked) {
      g.hardState = hs;
      g.writtenHardState = hs;
    }
    g.hardStateSegment = seg;
    return null;
  }

  private String truncate(GroupState g, long id, long index) {
    if (g == null || index <= 0) {
      return g == null ? null : "truncate record at index " + index;
    }
    if (index <= g.compactIndex && g.markerSegment != null) {
      return "truncate at " + index + " of group " + id + " below its compaction point "
          + g.compactIndex;
    }
    if (!g.index.isEmpty() && index > g.index.last() + 1) {
      return "truncate at " + index + " of group " + id + " past its last index " + g.index.last();
    }
    g.index.truncateFrom(index);
    g.terms.truncateFrom(index);
    if (g.index.isEmpty()) {
      expected.put(id, index);
    }
    return null;
  }

  private String compact(GroupState g, long id, long index, long term, Segment seg) {
    g = state(g, id);
    if (!g.index.isEmpty() && index >= g.index.first() && index <= g.index.last()
        && g.terms.termOf(index) != term) {
      return "compaction of group " + id + " at " + index + " with term " + term
          + " but its entry there has term " + g.terms.termOf(index);
    }
    applyCompaction(g, index, term);
    g.markerSegment = seg;
    return null;
  }

  private void applyCompaction(GroupState g, long index, long term) {
    g.compactIndex = index;
    g.compactTerm = term;
    if (g.index.isEmpty() || index >= g.index.last()) {
      g.index.reset(index + 1);
      g.terms.clear();
      expected.put(g.id, index + 1);
    } else {
      g.index.dropBefore(index + 1);
      g.terms.dropBefore(index + 1);
    }
  }

  private String reset(GroupState g, long index, long term, Segment seg) {
    g.compactIndex = index;
    g.compactTerm = term;
    g.index.reset(index + 1);
    g.terms.clear();
    expected.put(g.id, index + 1);
    g.markerSegment = seg;
    return null;
  }

  private String remove(GroupState g, long id) {
    if (g != null && g.fileBacked) {
      return "remove record of the log's own group " + id;
    }
    groups.remove(id);
    expected.remove(id);
    return null;
  }

  /**
   * After the last record: the own group's compaction point from its file (never behind a reset
   * record, so applied last), then every group's log must start right after its compaction point.
   * Returns a description of the first group that does not, or null.
   */
  String finish(long fileCompactIndex, long fileCompactTerm) {
    if (own != null && (fileCompactIndex > own.compactIndex || own.index.isEmpty()
        && own.markerSegment == null)) {
      applyCompaction(own, Math.max(fileCompactIndex, own.compactIndex),
          fileCompactIndex >= own.compactIndex ? fileCompactTerm : own.compactTerm);
      if (own.index.isEmpty()) {
        expected.remove(own.id);
      }
    }
    for (Iterator<GroupState> it = groups.values().iterator(); it.hasNext(); ) {
      GroupState g = it.next();
      long start = g.index.isEmpty() ? expected.getOrDefault(g.id, g.compactIndex + 1)
          : g.index.first();
      if (start > g.compactIndex + 1) {
        return "the log of group " + g.id + " starts at " + start + " but its compaction point is "
            + g.compactIndex + ": entries are missing";
      }
      g.terms.dropBefore(g.compactIndex + 1);
      g.durableIndex = g.lastIndex();
      if (!g.fileBacked && !g.hasRecords()) {
        it.remove(); // only truncate records left: nothing a reopen must find
      }
    }
    return null;
  }
}
