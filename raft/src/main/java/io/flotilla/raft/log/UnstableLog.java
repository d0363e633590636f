package io.flotilla.raft.log;

import io.flotilla.raft.Entry;
import io.flotilla.raft.InvariantViolation;
import java.util.ArrayList;
import java.util.List;

/**
 * Entries the core has accepted but the driver has not yet made durable (etcd-io/raft log_unstable.go).
 * {@code entries.get(i)} has index {@code offset + i}. If {@code offset} is at or below the storage's
 * last index, the driver must truncate the storage there when it persists these entries.
 */
final class UnstableLog {

    private long offset;
    private final ArrayList<Entry> entries = new ArrayList<>();

    UnstableLog(long offset) {
        this.offset = offset;
    }

    long offset() {
        return offset;
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Last index held here, or offset - 1 if none. */
    long lastIndex() {
        return offset + entries.size() - 1;
    }

    boolean contains(long index) {
        return index >= offset && index < offset + entries.size();
    }

    Entry get(long index) {
        return entries.get((int) (index - offset));
    }

    List<Entry> slice(long from, long toExclusive) {
        return entries.subList((int) (from - offset), (int) (toExclusive - offset));
    }

    List<Entry> all() {
        return List.copyOf(entries);
    }

    /** Appends, first dropping everything from the first new index on (a conflict replaced a suffix). */
    void truncateAndAppend(List<Entry> newEntries) {
        long after = newEntries.get(0).index();
        if (after == offset + entries.size()) {
            entries.addAll(newEntries);
        } else if (after <= offset) {
            // Replaces (part of) the stable log too: the driver truncates storage at `after`.
            offset = after;
            entries.clear();
            entries.addAll(newEntries);
        } else {
            InvariantViolation.check(after < offset + entries.size(), "gap appending %d after %d", after, lastIndex());
            entries.subList((int) (after - offset), entries.size()).clear();
            entries.addAll(newEntries);
        }
    }

    /** The driver made everything up to {@code index} (of {@code term}) durable. */
    void stableTo(long index, long term) {
        if (!contains(index) || get(index).term() != term) {
            return; // replaced meanwhile; the replacement is still unstable
        }
        entries.subList(0, (int) (index - offset + 1)).clear();
        offset = index + 1;
    }
}
