package io.flotilla.wal;

/**
 * The longest run of records at the end of the log that are all entries of one group. A suffix
 * truncation of that group inside the run may cut the files themselves, as the single-group log
 * always did (nothing of anyone else stands behind the cut); anywhere else it writes a truncate
 * record instead (docs/wal.md, "Truncation"). Updated by the writer as it publishes records and by
 * the replay on open; guarded by the log's state lock.
 */
final class TailRun {
  private GroupState group;
  private Segment segment;
  private int ordinal;

  /** The record {@code ordinal} of {@code seg} of type {@code type} was just added to the log. */
  void note(GroupState g, byte type, Segment seg, int ord) {
    if (type != RecordFormat.TYPE_ENTRY) {
      group = null;
    } else if (g != group) {
      group = g;
      segment = seg;
      ordinal = ord;
    }
  }

  /** Whether the record at (seg, ord), an entry of {@code g}, and everything after it are g's entries. */
  boolean covers(GroupState g, Segment seg, int ord) {
    if (g != group) {
      return false;
    }
    return seg.firstPosition > segment.firstPosition
        || (seg == segment && ord >= ordinal);
  }

  /** The log was cut at (seg, ord): the run ends there, and is gone if it began there. */
  void cutAt(Segment seg, int ord) {
    if (group != null && seg == segment && ord <= ordinal) {
      group = null;
    }
  }

  void clear() {
    group = null;
  }
}
