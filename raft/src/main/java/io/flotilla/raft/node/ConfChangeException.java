package io.flotilla.raft.node;

import io.flotilla.raft.ConfChangeError;

/**
 * Completes a {@link RaftNode#proposeConfChange} future when the change was refused without
 * effect. {@link ConfChangeError#retryable()} says whether the same change may be retried as is
 * (on {@link #leaderHint()} for NOT_LEADER). A change accepted and then lost with its leader fails
 * with {@link RaftException} LEADERSHIP_LOST instead (outcome unknown: read the configuration).
 */
public final class ConfChangeException extends RuntimeException {

    private final ConfChangeError error;
    private final long leaderHint;

    public ConfChangeException(ConfChangeError error, long leaderHint, String detail) {
        super(error + ": " + detail + (leaderHint != 0 ? " (leader hint " + leaderHint + ")" : ""), null, false, false);
        this.error = error;
        this.leaderHint = leaderHint;
    }

    public ConfChangeError error() {
        return error;
    }

    public long leaderHint() {
        return leaderHint;
    }
}
