package io.flotilla.wal;

import java.util.Objects;

/**
 * The Raft state that must survive a restart besides the log: the current term, the candidate
 * voted for in it (0 = none), the highest index known committed (an optimisation for restart,
 * never needed for safety), and a {@link RecoveryCut} that recovery made and the owner has not
 * yet resolved ({@link RecoveryCut#NONE} normally).
 */
public record HardState(long term, long votedFor, long commitIndex, RecoveryCut cut) {
  public static final HardState EMPTY = new HardState(0, 0, 0);

  public HardState {
    if (term < 0 || votedFor < 0 || commitIndex < 0) {
      throw new IllegalArgumentException("negative field in " + term + "/" + votedFor + "/"
          + commitIndex);
    }
    Objects.requireNonNull(cut, "cut");
  }

  /** Without a pending recovery cut. */
  public HardState(long term, long votedFor, long commitIndex) {
    this(term, votedFor, commitIndex, RecoveryCut.NONE);
  }

  public HardState withCut(RecoveryCut newCut) {
    return new HardState(term, votedFor, commitIndex, newCut);
  }
}
