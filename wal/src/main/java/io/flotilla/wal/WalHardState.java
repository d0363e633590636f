package io.flotilla.wal;

import java.util.Objects;

/**
 * The Raft state that must survive a restart besides the log: the current term, the candidate
 * voted for in it (0 = none), the highest index known committed (an optimisation for restart,
 * never needed for safety), and a {@link RecoveryCut} that recovery made and the owner has not
 * yet resolved ({@link RecoveryCut#NONE} normally).
 */
public record WalHardState(long term, long votedFor, long commitIndex, RecoveryCut cut) {
  public static final WalHardState EMPTY = new WalHardState(0, 0, 0);

  public WalHardState {
    if (term < 0 || votedFor < 0 || commitIndex < 0) {
      throw new IllegalArgumentException("negative field in " + term + "/" + votedFor + "/"
          + commitIndex);
    }
    Objects.requireNonNull(cut, "cut");
  }

  /** Without a pending recovery cut. */
  public WalHardState(long term, long votedFor, long commitIndex) {
    this(term, votedFor, commitIndex, RecoveryCut.NONE);
  }

  public WalHardState withCut(RecoveryCut newCut) {
    return new WalHardState(term, votedFor, commitIndex, newCut);
  }
}
