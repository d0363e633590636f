package io.flotilla.raft;

/** A request refused without effect. {@code leaderHint} is the known leader, or 0 if none is known. */
public record Rejected(RaftError error, long leaderHint) implements ProposeResult, ReadResult {}
