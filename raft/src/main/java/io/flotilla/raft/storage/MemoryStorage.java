package io.flotilla.raft.storage;

import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.InvariantViolation;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
import java.util.ArrayList;
import java.util.List;

/**
 * An in-memory log and hard-state store that models durability, for simulation and tests.
 *
 * <p>Writes ({@link #append}, {@link #setHardState}, {@link #applySnapshot}) are visible at once
 * but "unforced" until {@link #sync()}. {@link #crash()} throws away every unforced write —
 * including an unforced truncation or snapshot install, which a crash may undo — so a restarted
 * node sees exactly what was forced. {@link #createSnapshot} (local compaction) is durable at once,
 * like a snapshot file written and forced before the log is cut.
 *
 * <p>Reads see the visible state: a driver that follows the Ready contract syncs before it lets the
 * core read again, so the core only ever reads durable data.
 */
public final class MemoryStorage implements RaftStorage {

    // entries.get(i) has index snapshot.index() + 1 + i; the same for the durable pair.
    private Snapshot snapshot = Snapshot.EMPTY;
    private final ArrayList<Entry> entries = new ArrayList<>();
    private Snapshot durableSnapshot = Snapshot.EMPTY;
    private final ArrayList<Entry> durableEntries = new ArrayList<>();
    /** Lowest index changed since the last sync; entries below it equal the durable ones. */
    private long firstDirty = Long.MAX_VALUE;
    /** An unforced snapshot install: the whole visible log differs from the durable one. */
    private boolean snapshotDirty;
    private HardState hardState = HardState.EMPTY;
    private HardState durableHardState = HardState.EMPTY;
    private long syncs;
    /** First index of the entries the last sync made durable: the WAL's final write group. */
    private long lastForcedFrom = Long.MAX_VALUE;

    @Override
    public long firstIndex() {
        return snapshot.index() + 1;
    }

    @Override
    public long lastIndex() {
        return snapshot.index() + entries.size();
    }

    @Override
    public Snapshot snapshot() {
        return snapshot;
    }

    @Override
    public long term(long index) {
        if (index == snapshot.index()) {
            return snapshot.term();
        }
        if (index < snapshot.index() || index > lastIndex()) {
            throw new IllegalArgumentException("term(" + index + ") outside [" + snapshot.index() + ", " + lastIndex() + "]");
        }
        return entry(index).term();
    }

    private Entry entry(long index) {
        return entries.get((int) (index - snapshot.index() - 1));
    }

    @Override
    public List<Entry> entries(long from, long toExclusive, long maxBytes) {
        if (from < firstIndex() || toExclusive > lastIndex() + 1 || from > toExclusive) {
            throw new IllegalArgumentException("entries[" + from + ", " + toExclusive + ") outside log ["
                    + firstIndex() + ", " + lastIndex() + "]");
        }
        List<Entry> out = new ArrayList<>();
        long bytes = 0;
        for (long i = from; i < toExclusive; i++) {
            Entry e = entry(i);
            bytes += e.sizeBytes();
            if (!out.isEmpty() && bytes > maxBytes) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    @Override
    public HardState hardState() {
        return hardState;
    }

    /**
     * Deletes every entry with index &ge; the first new entry's index, then appends. Unforced. Call
     * before {@link #setHardState} of the same Ready.
     */
    @Override
    public void append(List<Entry> newEntries) {
        if (newEntries.isEmpty()) {
            return;
        }
        long first = newEntries.get(0).index();
        if (first < firstIndex() || first > lastIndex() + 1) {
            throw new IllegalArgumentException("append at " + first + " outside log [" + firstIndex() + ", "
                    + lastIndex() + "] (a gap, or overwriting the snapshot)");
        }
        // Call order: append before setHardState, so hardState still holds the previous commit index.
        if (first <= hardState.commitIndex() && lastIndex() >= first) {
            throw new InvariantViolation("truncating committed entries at " + first + " (commit "
                    + hardState.commitIndex() + ")");
        }
        while (lastIndex() >= first) {
            entries.remove(entries.size() - 1);
        }
        long expected = first;
        for (Entry e : newEntries) {
            InvariantViolation.check(e.index() == expected, "non-contiguous append at %d", e.index());
            expected++;
            entries.add(e);
        }
        firstDirty = Math.min(firstDirty, first);
    }

    /** Unforced. */
    @Override
    public void setHardState(HardState hs) {
        InvariantViolation.check(hs.term() >= hardState.term(), "term went back from %d to %d",
                hardState.term(), hs.term());
        hardState = hs;
    }

    /** Replaces the whole log with {@code s}. Unforced: a crash before {@link #sync} undoes it. */
    @Override
    public void applySnapshot(Snapshot s) {
        InvariantViolation.check(s.index() > hardState.commitIndex() || s.index() >= lastIndex(),
                "snapshot %s would discard committed entries after it (commit %d, last %d)", s,
                hardState.commitIndex(), lastIndex());
        snapshot = s;
        entries.clear();
        snapshotDirty = true;
        firstDirty = Long.MAX_VALUE;
        if (hardState.commitIndex() < s.index()) {
            hardState = hardState.withCommitIndex(s.index());
        }
    }

    /** Compacts both the visible and the durable log (durable at once). */
    @Override
    public void createSnapshot(long index, Configuration configuration, byte[] data) {
        InvariantViolation.check(!snapshotDirty && firstDirty == Long.MAX_VALUE, "compaction with unforced writes");
        if (index <= snapshot.index()) {
            return; // older than what we have
        }
        InvariantViolation.check(index <= lastIndex() && index <= hardState.commitIndex(),
                "snapshot at %d beyond commit %d / log %d", index, hardState.commitIndex(), lastIndex());
        Snapshot s = new Snapshot(index, term(index), data, configuration);
        entries.subList(0, (int) (index - snapshot.index())).clear();
        snapshot = s;
        durableEntries.clear();
        durableEntries.addAll(entries);
        durableSnapshot = s;
    }

    /** Forces every write so far (one fsync of the log and the hard state). */
    @Override
    public void sync() {
        syncs++;
        if (snapshotDirty || firstDirty != Long.MAX_VALUE) {
            lastForcedFrom = snapshotDirty ? snapshot.index() + 1 : firstDirty;
        }
        if (snapshotDirty) {
            durableSnapshot = snapshot;
            durableEntries.clear();
            durableEntries.addAll(entries);
        } else if (firstDirty != Long.MAX_VALUE) {
            int keep = (int) (firstDirty - durableSnapshot.index() - 1);
            while (durableEntries.size() > keep) {
                durableEntries.remove(durableEntries.size() - 1);
            }
            for (int i = durableEntries.size(); i < entries.size(); i++) {
                durableEntries.add(entries.get(i));
            }
        }
        snapshotDirty = false;
        firstDirty = Long.MAX_VALUE;
        durableHardState = hardState;
    }

    /** Loses every unforced write, as a power failure would. */
    public void crash() {
        if (snapshotDirty) {
            snapshot = durableSnapshot;
            entries.clear();
            entries.addAll(durableEntries);
        } else if (firstDirty != Long.MAX_VALUE) {
            int keep = (int) (firstDirty - snapshot.index() - 1);
            while (entries.size() > keep) {
                entries.remove(entries.size() - 1);
            }
            for (int i = entries.size(); i < durableEntries.size(); i++) {
                entries.add(durableEntries.get(i));
            }
        }
        snapshotDirty = false;
        firstDirty = Long.MAX_VALUE;
        hardState = durableHardState;
    }

    /**
     * What the WAL's recovery does when damage it cannot tell from a torn write makes it cut forced
     * entries (docs/wal.md, "Cuts that may lose forced entries"): the durable log loses every entry
     * from {@code fromIndex} on, and, when {@code fence}, the durable hard state records a
     * {@link io.flotilla.raft.RecoveryFence} (the cut, the old last index, the durable term), as the
     * WAL saves its cut before making it. {@code fence = false} is the old, silent cut (bug
     * injection). Call on a crashed node. Returns the entries lost.
     */
    public long loseForcedSuffix(long fromIndex, boolean fence) {
        long last = durableSnapshot.index() + durableEntries.size();
        InvariantViolation.check(firstDirty == Long.MAX_VALUE && !snapshotDirty, "lose a suffix of a crashed node only");
        // The server refuses to start on a cut below its known commit (its state machine may be
        // ahead of the log); this models the cuts a node survives.
        InvariantViolation.check(fromIndex > Math.max(durableHardState.commitIndex(), durableSnapshot.index())
                && fromIndex <= last, "cut at %d outside (commit %d, last %d]", fromIndex,
                durableHardState.commitIndex(), last);
        int keep = (int) (fromIndex - durableSnapshot.index() - 1);
        while (durableEntries.size() > keep) {
            durableEntries.remove(durableEntries.size() - 1);
            entries.remove(entries.size() - 1);
        }
        if (fence) {
            io.flotilla.raft.RecoveryFence cut = new io.flotilla.raft.RecoveryFence(fromIndex, last,
                    durableHardState.term());
            durableHardState = new HardState(durableHardState.term(), durableHardState.votedFor(),
                    durableHardState.commitIndex(), durableHardState.fence().merge(cut));
            hardState = durableHardState;
        }
        lastForcedFrom = Long.MAX_VALUE;
        return last - fromIndex + 1;
    }

    /**
     * The first index of the entries the last sync made durable (the WAL's final write group), or
     * {@link Long#MAX_VALUE} when it forced no entry.
     */
    public long lastForcedFrom() {
        return lastForcedFrom;
    }

    /** The hard state a crash would leave (test and invariant use). */
    public HardState durableHardState() {
        return durableHardState;
    }

    /** The snapshot a crash would leave (test and invariant use). */
    public Snapshot durableSnapshot() {
        return durableSnapshot;
    }

    /**
     * The log after {@link #durableSnapshot()} that a crash would leave, as an unmodifiable view:
     * entry i has index durableSnapshot().index() + 1 + i (test and invariant use).
     */
    public List<Entry> durableEntries() {
        return java.util.Collections.unmodifiableList(durableEntries);
    }

    public long syncCount() {
        return syncs;
    }
}
