package io.flotilla.raft.log;

import io.flotilla.raft.Entry;
import io.flotilla.raft.InvariantViolation;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.storage.LogStorage;
import java.util.ArrayList;
import java.util.List;

/**
 * The core's view of its log: the durable {@link LogStorage} (read only) followed by the
 * {@link UnstableLog} of entries handed to the driver but not yet durable.
 */
public final class RaftLog {

    private final LogStorage storage;
    private final UnstableLog unstable;

    public RaftLog(LogStorage storage) {
        this.storage = storage;
        this.unstable = new UnstableLog(storage.lastIndex() + 1);
        InvariantViolation.check(storage.firstIndex() >= 1 && storage.lastIndex() >= storage.firstIndex() - 1,
                "storage holds [%d, %d]", storage.firstIndex(), storage.lastIndex());
    }

    /**
     * The first index still in the log; entries below it are compacted into the snapshot at
     * {@code firstIndex() - 1}, whose term {@link #term} still answers.
     */
    public long firstIndex() {
        Snapshot s = unstable.snapshot();
        return s != null ? s.index() + 1 : storage.firstIndex();
    }

    public long lastIndex() {
        if (unstable.hasEntries()) {
            return unstable.lastIndex();
        }
        Snapshot s = unstable.snapshot();
        return s != null ? s.index() : storage.lastIndex();
    }

    public long lastTerm() {
        return term(lastIndex());
    }

    /**
     * The last index that is durable and belongs to this log: storage entries at or above a
     * pending truncation point do not count, and nothing counts while a snapshot from the leader
     * is still to be installed (the stored log is about to be replaced).
     */
    public long durableLastIndex() {
        if (unstable.snapshot() != null) {
            return 0;
        }
        return unstable.isEmpty() ? storage.lastIndex() : Math.min(storage.lastIndex(), unstable.offset() - 1);
    }

    /**
     * Term of the entry at {@code index}; 0 for index 0. The index must be in
     * [firstIndex() - 1, lastIndex()]: below that it was compacted ({@link #isCompacted}).
     */
    public long term(long index) {
        if (unstable.contains(index)) {
            return unstable.get(index).term();
        }
        if (index < firstIndex() - 1 || index > lastIndex() || index >= unstable.offset()) {
            throw new IllegalArgumentException("term(" + index + ") outside [" + (firstIndex() - 1) + ", " + lastIndex() + "]");
        }
        Snapshot s = unstable.snapshot();
        if (s != null) {
            return s.term(); // index == s.index(): the only index below offset that still answers
        }
        return index == 0 ? 0 : storage.term(index);
    }

    /** Whether the entry at {@code index} was compacted away (its term is no longer known). */
    public boolean isCompacted(long index) {
        return index < firstIndex() - 1;
    }

    /**
     * The latest snapshot: one received from the leader and not yet installed, else the stored
     * one ({@link Snapshot#EMPTY} if none). What a leader sends to a follower behind its log.
     */
    public Snapshot snapshot() {
        Snapshot s = unstable.snapshot();
        return s != null ? s : storage.snapshot();
    }

    /** The snapshot to hand to the driver in the next Ready, or null. */
    public Snapshot unstableSnapshot() {
        return unstable.snapshot();
    }

    /** Replaces the whole log with {@code s} (InstallSnapshot); the driver installs it via Ready. */
    public void restore(Snapshot s) {
        InvariantViolation.check(!s.isEmpty(), "restoring an empty snapshot");
        unstable.restore(s);
    }

    /**
     * The driver installed the pending snapshot at {@code index} (and appended the Ready's entries
     * after it). Checks that the storage really replaced its log: a storage that kept an old suffix
     * would silently mix two histories.
     */
    public void stableSnapTo(long index) {
        Snapshot s = unstable.snapshot();
        if (s == null || s.index() != index) {
            return;
        }
        InvariantViolation.check(storage.firstIndex() == index + 1 && storage.term(index) == s.term()
                        && storage.lastIndex() == unstable.lastIndex(),
                "storage did not install %s as asked: it holds [%d, %d], expected [%d, %d]", s,
                storage.firstIndex(), storage.lastIndex(), index + 1, unstable.lastIndex());
        unstable.stableSnapTo(index);
    }

    public boolean matchTerm(long index, long term) {
        return index <= lastIndex() && !isCompacted(index) && term(index) == term;
    }

    /** §5.4.1: a candidate's log is at least as up to date as ours. */
    public boolean isUpToDate(long lastLogIndex, long lastLogTerm) {
        long ourTerm = lastTerm();
        return lastLogTerm > ourTerm || (lastLogTerm == ourTerm && lastLogIndex >= lastIndex());
    }

    /**
     * Index of the first entry that is not already in the log with the same term (a conflict or a
     * new entry), or 0 if every entry is already present.
     */
    public long findConflict(List<Entry> entries) {
        for (Entry e : entries) {
            if (!matchTerm(e.index(), e.term())) {
                return e.index();
            }
        }
        return 0;
    }

    /**
     * The largest index &le; {@code index} whose term is &le; {@code term}, with its term: where two
     * logs may still agree (fast backtracking). Returns {index, term}.
     */
    public long[] findConflictByTerm(long index, long term) {
        index = Math.min(index, lastIndex());
        while (index > 0) {
            if (isCompacted(index)) {
                return new long[] {index, 0}; // unknown: whoever asked falls back to a snapshot
            }
            long t = term(index);
            if (t <= term) {
                return new long[] {index, t};
            }
            index--;
        }
        return new long[] {0, 0};
    }

    /** Appends (truncating a conflicting suffix first); returns the new last index. */
    public long append(List<Entry> entries) {
        if (entries.isEmpty()) {
            return lastIndex();
        }
        InvariantViolation.check(entries.get(0).index() <= lastIndex() + 1, "append leaves a gap");
        unstable.truncateAndAppend(entries);
        return lastIndex();
    }

    /**
     * Entries in [from, min(lastIndex, from + maxEntries - 1)], at least one if any, stopping once
     * {@code maxBytes} is exceeded.
     */
    public List<Entry> entries(long from, long maxBytes, int maxEntries) {
        long to = Math.min(lastIndex() + 1, from + maxEntries);
        return slice(from, to, maxBytes);
    }

    /** Entries in [from, toExclusive) bounded by bytes (at least one). */
    public List<Entry> slice(long from, long toExclusive, long maxBytes) {
        if (from >= toExclusive) {
            return List.of();
        }
        InvariantViolation.check(from >= firstIndex() && toExclusive <= lastIndex() + 1, "slice [%d,%d) out of log [%d,%d]",
                from, toExclusive, firstIndex(), lastIndex());
        long offset = unstable.offset();
        List<Entry> out;
        if (from < offset) {
            out = new ArrayList<>(storage.entries(from, Math.min(toExclusive, offset), maxBytes));
            if (out.size() < Math.min(toExclusive, offset) - from) {
                return out; // byte limit reached inside storage
            }
        } else {
            out = new ArrayList<>((int) Math.min(toExclusive - from, 1024)); // sized once: no regrowth
        }
        if (toExclusive > offset) {
            long bytes = 0;
            for (Entry e : out) {
                bytes += e.sizeBytes();
            }
            for (Entry e : unstable.slice(Math.max(from, offset), toExclusive)) {
                bytes += e.sizeBytes();
                if (!out.isEmpty() && bytes > maxBytes) {
                    break;
                }
                out.add(e);
            }
        }
        return out;
    }

    /** Whether the driver has something to persist (a snapshot or entries). */
    public boolean hasUnstable() {
        return !unstable.isEmpty();
    }

    public List<Entry> unstableEntries() {
        return unstable.all();
    }

    public void stableTo(long index, long term) {
        unstable.stableTo(index, term);
    }
}
