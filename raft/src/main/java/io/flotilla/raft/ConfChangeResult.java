package io.flotilla.raft;

import io.flotilla.raft.quorum.Configuration;

/** The immediate answer to {@link RaftCore#proposeConfChange}. */
public sealed interface ConfChangeResult permits ConfChangeResult.Accepted, ConfChangeResult.Refused {

    /**
     * The change was appended at {@code index} in {@code term}; it takes effect when that entry
     * is committed. {@code target} is the configuration it leads to: a joint one when the voter
     * set changes (the leader then leaves it by itself with a follow-up entry).
     */
    record Accepted(long index, long term, Configuration target) implements ConfChangeResult {}

    /** Refused without effect. {@code leaderHint} is the known leader (0 if none). */
    record Refused(ConfChangeError error, long leaderHint, String detail) implements ConfChangeResult {}
}
