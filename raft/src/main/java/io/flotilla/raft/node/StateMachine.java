package io.flotilla.raft.node;

import io.flotilla.raft.Entry;

/** The replicated application. Called on the node's event-loop thread, in log order. */
public interface StateMachine {

    /** Applies one committed entry (NOOP and CONF_CHANGE entries included, to keep indexes dense). */
    void apply(Entry entry);

    /**
     * The whole state after the last applied entry, as bytes that {@link #restore} accepts: what
     * the driver stores when it compacts the log and what a leader sends to a follower behind the
     * compaction point. A state machine that never snapshots (no compaction policy) may leave this
     * unsupported.
     */
    default byte[] snapshot() {
        throw new UnsupportedOperationException(getClass().getName() + " does not take snapshots");
    }

    /**
     * Replaces the whole state with a {@link #snapshot()} taken at {@code index} (on this node
     * before a restart, or on the leader): afterwards entries apply from {@code index + 1}.
     */
    default void restore(long index, byte[] snapshot) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot restore snapshots");
    }
}
