package io.flotilla.raft.storage;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Snapshot;
import java.util.List;

/**
 * The read side of the durable log, as the core sees it. The core never writes: the driver appends
 * and truncates (as told by a Ready) through its own implementation, then syncs, then advances the
 * core. Everything the core can read here is therefore durable.
 *
 * <p>After compaction the log starts later: {@code firstIndex() - 1} is the index of the latest
 * {@link #snapshot()}, and {@code term(firstIndex() - 1)} answers that snapshot's term. Without a
 * snapshot, {@code firstIndex()} is 1 and {@code term(0)} is 0.
 */
public interface LogStorage {

    /** Index of the first available entry: the latest snapshot's index + 1 (1 without a snapshot). */
    long firstIndex();

    /**
     * The latest durable snapshot ({@link Snapshot#EMPTY} if none), with its data: what a leader
     * sends to a follower that needs compacted entries. Its index is {@code firstIndex() - 1}.
     */
    Snapshot snapshot();

    /** Index of the last entry, or firstIndex() - 1 if empty. */
    long lastIndex();

    /** Term of the entry at {@code index}, for firstIndex() - 1 &le; index &le; lastIndex(). */
    long term(long index);

    /**
     * Entries in [from, toExclusive), stopping early once their total {@link Entry#sizeBytes()}
     * exceeds {@code maxBytes} — but always at least one entry if from &lt; toExclusive.
     */
    List<Entry> entries(long from, long toExclusive, long maxBytes);
}
