package io.flotilla.raft;

/** The immediate answer to {@link RaftCore#propose}. */
public sealed interface ProposeResult permits ProposeResult.Accepted, Rejected {

    /**
     * The entry was appended to the leader's log at {@code index} in {@code term}. It is committed
     * when an entry with this index and term is applied; if an entry with the same index but
     * another term is applied instead, the proposal was lost (Log Matching makes this exact).
     */
    record Accepted(long index, long term) implements ProposeResult {}
}
