package io.flotilla.raft.storage;

import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import java.util.List;

/**
 * The write side a driver needs on top of what the core reads. A WAL-backed implementation
 * appends and forces with one fsync per {@link #persist} call (group commit across groups is the
 * driver's business: it may batch several groups' Readies before one force).
 */
public interface RaftStorage extends LogStorage, HardStateStore {

    /** Deletes entries with index &ge; the first given entry's index, then appends. Not yet durable. */
    void append(List<Entry> entries);

    /** Not yet durable. */
    void setHardState(HardState hardState);

    /** Makes every earlier write durable. */
    void sync();

    /** Persists one Ready's entries and hard state with a single force. */
    default void persist(HardState hardStateOrNull, List<Entry> entries) {
        append(entries);
        if (hardStateOrNull != null) {
            setHardState(hardStateOrNull);
        }
        sync();
    }
}
