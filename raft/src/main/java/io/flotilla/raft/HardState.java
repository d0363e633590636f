package io.flotilla.raft;

import java.util.Objects;

/**
 * The state a node must persist before it acts on it (Raft paper, Figure 2: currentTerm and
 * votedFor; plus commitIndex, which lets a restarted node apply committed entries without waiting
 * for a leader; plus the {@link RecoveryFence} a lost log suffix put up). {@code votedFor == 0}
 * means "no vote in this term"; node ids are positive.
 */
public record HardState(long term, long votedFor, long commitIndex, RecoveryFence fence) {

    public static final HardState EMPTY = new HardState(0, 0, 0);

    public HardState {
        if (term < 0 || votedFor < 0 || commitIndex < 0) {
            throw new IllegalArgumentException("negative hard state: " + term + "/" + votedFor + "/" + commitIndex);
        }
        Objects.requireNonNull(fence, "fence");
    }

    /** Without a recovery fence. */
    public HardState(long term, long votedFor, long commitIndex) {
        this(term, votedFor, commitIndex, RecoveryFence.NONE);
    }

    /** The same state with another commit index (the fence is kept: it must never be dropped by accident). */
    public HardState withCommitIndex(long newCommitIndex) {
        return new HardState(term, votedFor, newCommitIndex, fence);
    }
}
