package io.flotilla.raft.log;

import io.flotilla.raft.Entry;
import io.flotilla.raft.InvariantViolation;
import io.flotilla.raft.Snapshot;
import java.util.ArrayList;
import java.util.List;

/**
 * What the core has accepted but the driver has not yet made durable (etcd-io/raft log_unstable.go):
 * an optional snapshot received from the leader, then entries. {@code entries.get(i)} has index
 * {@code offset + i}. If {@code offset} is at or below the storage's last index, the driver must
 * truncate the storage there when it persists these entries. A pending snapshot replaces the whole
 * stored log: while it is here the storage is not read at all.
 */
final class UnstableLog {

    private long offset;
    private final ArrayList<Entry> entries = new ArrayList<>();
    /** A snapshot to install before {@link #entries}; null if none. */
    private Snapshot snapshot;

    UnstableLog(long offset) {
        this.offset = offset;
    }

    long offset() {
        return offset;
    }

    Snapshot snapshot() {
        return snapshot;
    }

    boolean isEmpty() {
        return entries.isEmpty() && snapshot == null;
    }

    boolean hasEntries() {
        return !entries.isEmpty();
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
            InvariantViolation.check(snapshot == null || after > snapshot.index(),
                    "append at %d overwrites pending snapshot %s", after, snapshot);
            offset = after;
            entries.clear();
            entries.addAll(newEntries);
        } else {
            InvariantViolation.check(after < offset + entries.size(), "gap appending %d after %d", after, lastIndex());
            entries.subList((int) (after - offset), entries.size()).clear();
            entries.addAll(newEntries);
        }
    }

    /** Replaces everything with {@code s}: the log continues at {@code s.index() + 1}. */
    void restore(Snapshot s) {
        snapshot = s;
        offset = s.index() + 1;
        entries.clear();
    }

    /** The driver made everything up to {@code index} (of {@code term}) durable. */
    void stableTo(long index, long term) {
        if (!contains(index) || get(index).term() != term) {
            return; // replaced meanwhile; the replacement is still unstable
        }
        entries.subList(0, (int) (index - offset + 1)).clear();
        offset = index + 1;
    }

    /** The driver installed the snapshot at {@code index} durably. */
    void stableSnapTo(long index) {
        if (snapshot != null && snapshot.index() == index) {
            snapshot = null;
        }
    }
}
