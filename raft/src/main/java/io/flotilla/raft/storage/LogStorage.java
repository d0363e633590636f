package io.flotilla.raft.storage;

import io.flotilla.raft.Entry;
import java.util.List;

/**
 * The read side of the durable log, as the core sees it. The core never writes: the driver appends
 * and truncates (as told by a Ready) through its own implementation, then syncs, then advances the
 * core. Everything the core can read here is therefore durable.
 *
 * <p>Without snapshots, {@code firstIndex()} is 1 and {@code term(0)} is 0.
 */
public interface LogStorage {

    /** Index of the first available entry (1 until snapshots exist). */
    long firstIndex();

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
