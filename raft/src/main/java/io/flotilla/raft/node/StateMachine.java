package io.flotilla.raft.node;

import io.flotilla.raft.Entry;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The replicated application. Called on the node's event-loop thread, in log order. */
public interface StateMachine {

    /** Applies one committed entry (NOOP and CONF_CHANGE entries included, to keep indexes dense). */
    void apply(Entry entry);

    /**
     * Applies a run of committed entries, in order. A state machine that can make them durable in
     * one write (one RocksDB batch) overrides this: the driver hands it everything one Ready
     * committed, so a busy node writes once per round, not once per entry.
     */
    default void applyAll(List<Entry> entries) {
        for (Entry e : entries) {
            apply(e);
        }
    }

    /**
     * The whole state after the last applied entry, as bytes that {@link #restore} accepts: what
     * the driver stores when it compacts the log and what a leader sends to a follower behind the
     * compaction point. A state machine that never snapshots (no compaction policy) may leave this
     * unsupported.
     */
    default byte[] snapshot() {
        throw new UnsupportedOperationException(getClass().getName() + " does not take snapshots");
    }

    /** A snapshot as taken: the state as of applied index {@code index}. */
    record Taken(long index, byte[] data) {}

    /**
     * Starts a snapshot while the driver keeps applying: called on the event-loop thread with the
     * index applied so far, it may finish on any thread. The snapshot may cover more than
     * {@code appliedIndex} (entries applied meanwhile) but never less, and never an index the
     * driver has not applied. The default takes {@link #snapshot()} synchronously.
     */
    default CompletableFuture<Taken> takeSnapshot(long appliedIndex) {
        return CompletableFuture.completedFuture(new Taken(appliedIndex, snapshot()));
    }

    /**
     * Whether a leader's snapshot taken at {@code index} may be installed now. Asked before the
     * driver hands the snapshot to the core (which makes it durable and then calls
     * {@link #restore}); a refused one is dropped and the leader sends it again later. A state
     * machine sharing its storage with others refuses one that would overwrite what another
     * holds.
     */
    default boolean canRestore(long index, byte[] snapshot) {
        return true;
    }

    /**
     * Whether the snapshot recorded in storage at {@code index} may be sent to a follower. A state
     * machine whose log starts from a placeholder snapshot that carries no state (a range made by a
     * split starts so) says no: the driver then takes a real snapshot, and the leader sends that
     * one after its snapshot timeout.
     */
    default boolean canSendSnapshot(long index, byte[] snapshot) {
        return true;
    }

    /**
     * Replaces the whole state with a {@link #snapshot()} taken at {@code index} (on this node
     * before a restart, or on the leader): afterwards entries apply from {@code index + 1}.
     */
    default void restore(long index, byte[] snapshot) {
        throw new UnsupportedOperationException(getClass().getName() + " cannot restore snapshots");
    }
}
