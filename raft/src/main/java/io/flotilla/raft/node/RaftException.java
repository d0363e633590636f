package io.flotilla.raft.node;

import io.flotilla.raft.RaftError;

/** Completes a client future exceptionally with a typed, actionable error. */
public final class RaftException extends RuntimeException {

    private final RaftError error;
    private final long leaderHint;

    public RaftException(RaftError error, long leaderHint) {
        super(error + (leaderHint != 0 ? " (leader hint " + leaderHint + ")" : ""), null, false, false);
        this.error = error;
        this.leaderHint = leaderHint;
    }

    public RaftError error() {
        return error;
    }

    public long leaderHint() {
        return leaderHint;
    }
}
