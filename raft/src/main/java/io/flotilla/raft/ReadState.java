package io.flotilla.raft;

/**
 * A completed ReadIndex request: the caller may serve the read identified by {@code requestId}
 * once its state machine has applied at least {@code readIndex} (dissertation §6.4).
 */
public record ReadState(long requestId, long readIndex) {}
