package io.flotilla.raft.storage;

import io.flotilla.raft.ConfEntry;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
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

    /**
     * Installs a snapshot received from the leader (a Ready's {@code snapshot}): the whole log is
     * replaced, so every entry &le; its index is discarded and so is every later one (the core only
     * asks for this when its log does not hold the snapshot's (index, term)); the log continues at
     * {@code index + 1} and the hard state's commit index becomes at least {@code index}. Not yet
     * durable: call before {@link #append} of the same Ready, and {@link #sync} after.
     */
    void applySnapshot(Snapshot snapshot);

    /**
     * Records a snapshot the local state machine took at {@code index} (&le; its applied index,
     * so a durable committed entry) and compacts the log below it: entries &le; index are gone,
     * {@code term(index)} still answers. Durable when it returns (a compaction is off the Ready
     * path; it only ever loses entries that the snapshot covers). Call between Readies.
     *
     * <p>The snapshot records the configuration as of {@code index}, found from the last
     * CONF_CHANGE entry &le; index (each carries the whole configuration) or else the current
     * snapshot's. That scans the entries being compacted; a driver that knows the configuration
     * (say from {@code RaftCore.appliedConfiguration()} when index is the applied index) passes it
     * to {@link #createSnapshot(long, Configuration, byte[])} instead.
     */
    default void createSnapshot(long index, byte[] data) {
        createSnapshot(index, configurationAt(this, index), data);
    }

    /** As {@link #createSnapshot(long, byte[])}, with the configuration as of {@code index}. */
    void createSnapshot(long index, Configuration configuration, byte[] data);

    /** The configuration as of {@code index} (firstIndex - 1 &le; index &le; lastIndex), from the log. */
    static Configuration configurationAt(LogStorage log, long index) {
        Configuration c = log.snapshot().configuration();
        long from = log.firstIndex();
        while (from <= index) {
            List<Entry> batch = log.entries(from, index + 1, 1 << 20);
            for (Entry e : batch) {
                if (e.type() == EntryType.CONF_CHANGE) {
                    c = ConfEntry.decode(e.data()).configuration();
                }
            }
            from += batch.size();
        }
        return c;
    }

    /** Makes every earlier write durable. */
    void sync();

    /** Persists one Ready's entries and hard state with a single force. */
    default void persist(HardState hardStateOrNull, List<Entry> entries) {
        persist(null, hardStateOrNull, entries);
    }

    /** Persists one Ready's snapshot (installed first), entries and hard state with a single force. */
    default void persist(Snapshot snapshotOrNull, HardState hardStateOrNull, List<Entry> entries) {
        if (snapshotOrNull != null) {
            applySnapshot(snapshotOrNull);
        }
        append(entries);
        if (hardStateOrNull != null) {
            setHardState(hardStateOrNull);
        }
        sync();
    }
}
