package io.flotilla.raft;

/** Why {@link RaftCore#proposeConfChange} refused a change. The change had no effect. */
public enum ConfChangeError {
    /** Not the leader: retry on the hinted leader. */
    NOT_LEADER(true),
    /** A leadership transfer is in progress: retry shortly. */
    TRANSFER_IN_PROGRESS(true),
    /**
     * Another change is not committed yet (or the joint configuration it entered is not left yet,
     * or this leader has not committed an entry of its term): retry once it is.
     */
    CHANGE_PENDING(true),
    /** The change lists no single change. */
    EMPTY,
    /** No voter would remain. */
    REMOVES_LAST_VOTER,
    /** ADD_VOTER of a node that already votes. */
    ALREADY_VOTER,
    /** ADD_LEARNER of a node that already is a learner. */
    ALREADY_LEARNER,
    /** ADD_VOTER (promotion) or REMOVE_NODE of a node that is not a member; add it as a learner first. */
    UNKNOWN_NODE,
    /** A node id that is not positive. */
    INVALID_NODE;

    private final boolean retryable;

    ConfChangeError() {
        this(false);
    }

    ConfChangeError(boolean retryable) {
        this.retryable = retryable;
    }

    /** Whether the same change may succeed later unchanged. */
    public boolean retryable() {
        return retryable;
    }
}
