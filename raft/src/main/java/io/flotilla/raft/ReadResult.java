package io.flotilla.raft;

/** The immediate answer to {@link RaftCore#readIndex}. */
public sealed interface ReadResult permits ReadResult.Pending, Rejected {

    /** Accepted: a {@link ReadState} (or a {@link Failure}) with this id will appear in a later Ready. */
    record Pending(long requestId) implements ReadResult {}
}
