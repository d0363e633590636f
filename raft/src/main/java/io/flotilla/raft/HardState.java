package io.flotilla.raft;

/**
 * The state a node must persist before it acts on it (Raft paper, Figure 2: currentTerm and
 * votedFor; plus commitIndex, which lets a restarted node apply committed entries without waiting
 * for a leader). {@code votedFor == 0} means "no vote in this term"; node ids are positive.
 */
public record HardState(long term, long votedFor, long commitIndex) {

    public static final HardState EMPTY = new HardState(0, 0, 0);

    public HardState {
        if (term < 0 || votedFor < 0 || commitIndex < 0) {
            throw new IllegalArgumentException("negative hard state: " + term + "/" + votedFor + "/" + commitIndex);
        }
    }
}
