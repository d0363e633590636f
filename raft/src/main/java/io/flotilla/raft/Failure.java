package io.flotilla.raft;

/**
 * A request the core abandoned after accepting it. For {@link Kind#PROPOSAL} {@code id} is the
 * entry index returned by {@link ProposeResult.Accepted}; for {@link Kind#READ} it is the read's
 * request id.
 */
public record Failure(Kind kind, long id, RaftError error) {
    public enum Kind { PROPOSAL, READ }
}
