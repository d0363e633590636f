package io.flotilla.wal;

/**
 * Entries that recovery cut off the end of the log although they may have been forced, and so
 * maybe acknowledged (docs/wal.md, "Cuts that may lose forced entries"). Recovery saves it in the
 * hard-state file before it touches the segment, so a crash after the cut cannot forget it; it
 * stays there until the log's owner, who knows when the lost entries are held again, clears it.
 *
 * @param fromIndex  the first index cut (0: no cut)
 * @param untilIndex the highest index the cut may have removed: an upper bound read from the
 *                   damaged bytes (each record takes at least 44 of them), which misses only
 *                   records that left no trace at all (bytes that read back as zeros, a shorter
 *                   file)
 * @param term       the hard state's term when the cut was made. Raft acknowledges an entry only
 *                   after the term it acknowledges in is durable, so every acknowledgement of a
 *                   lost entry was sent in this term or an earlier one
 */
public record RecoveryCut(long fromIndex, long untilIndex, long term) {
  public static final RecoveryCut NONE = new RecoveryCut(0, 0, 0);

  public RecoveryCut {
    boolean none = fromIndex == 0 && untilIndex == 0 && term == 0;
    if (!none && (fromIndex <= 0 || untilIndex < fromIndex || term < 0)) {
      throw new IllegalArgumentException("bad recovery cut: from " + fromIndex + " until "
          + untilIndex + " term " + term);
    }
  }

  public boolean isNone() {
    return fromIndex == 0;
  }

  /** One cut covering both: the earliest first index, the latest bound and term. */
  public RecoveryCut merge(RecoveryCut other) {
    if (other.isNone()) {
      return this;
    }
    if (isNone()) {
      return other;
    }
    return new RecoveryCut(Math.min(fromIndex, other.fromIndex),
        Math.max(untilIndex, other.untilIndex), Math.max(term, other.term));
  }
}
