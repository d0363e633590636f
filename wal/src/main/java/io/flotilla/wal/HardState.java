package io.flotilla.wal;

/**
 * The Raft state that must survive a restart besides the log: the current term, the candidate
 * voted for in it (0 = none), and the highest index known committed (an optimisation for restart,
 * never needed for safety).
 */
public record HardState(long term, long votedFor, long commitIndex) {
  public static final HardState EMPTY = new HardState(0, 0, 0);

  public HardState {
    if (term < 0 || votedFor < 0 || commitIndex < 0) {
      throw new IllegalArgumentException("negative field in " + term + "/" + votedFor + "/"
          + commitIndex);
    }
  }
}
