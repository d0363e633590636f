package io.flotilla.raft.storage;

import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.InvariantViolation;
import java.util.ArrayList;
import java.util.List;

/**
 * An in-memory log and hard-state store that models durability, for simulation and tests.
 *
 * <p>Writes ({@link #append}, {@link #setHardState}) are visible at once but "unforced" until
 * {@link #sync()}. {@link #crash()} throws away every unforced write — including an unforced
 * truncation, which a crash may undo — so a restarted node sees exactly what was forced.
 *
 * <p>Reads see the visible state: a driver that follows the Ready contract syncs before it lets the
 * core read again, so the core only ever reads durable data.
 */
public final class MemoryStorage implements RaftStorage {

    // entries.get(i) has index i + 1 (no snapshots yet).
    private final ArrayList<Entry> entries = new ArrayList<>();
    private final ArrayList<Entry> durableEntries = new ArrayList<>();
    /** Lowest list position changed since the last sync; entries below it equal durableEntries. */
    private int firstDirty = Integer.MAX_VALUE;
    private HardState hardState = HardState.EMPTY;
    private HardState durableHardState = HardState.EMPTY;
    private long syncs;

    @Override
    public long firstIndex() {
        return 1;
    }

    @Override
    public long lastIndex() {
        return entries.size();
    }

    @Override
    public long term(long index) {
        if (index == 0) {
            return 0;
        }
        if (index < 0 || index > entries.size()) {
            throw new IllegalArgumentException("term(" + index + ") outside [0, " + entries.size() + "]");
        }
        return entries.get((int) index - 1).term();
    }

    @Override
    public List<Entry> entries(long from, long toExclusive, long maxBytes) {
        if (from < 1 || toExclusive > entries.size() + 1 || from > toExclusive) {
            throw new IllegalArgumentException("entries[" + from + ", " + toExclusive + ") outside log of " + entries.size());
        }
        List<Entry> out = new ArrayList<>();
        long bytes = 0;
        for (long i = from; i < toExclusive; i++) {
            Entry e = entries.get((int) i - 1);
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
        if (first < 1 || first > entries.size() + 1) {
            throw new IllegalArgumentException("append at " + first + " leaves a gap after " + entries.size());
        }
        int keep = (int) first - 1;
        // Call order: append before setHardState, so hardState still holds the previous commit index.
        if (keep < hardState.commitIndex() && entries.size() > keep) {
            throw new InvariantViolation("truncating committed entries at " + first + " (commit "
                    + hardState.commitIndex() + ")");
        }
        while (entries.size() > keep) {
            entries.remove(entries.size() - 1);
        }
        long expected = first;
        for (Entry e : newEntries) {
            InvariantViolation.check(e.index() == expected, "non-contiguous append at %d", e.index());
            expected++;
            entries.add(e);
        }
        firstDirty = Math.min(firstDirty, keep);
    }

    /** Unforced. */
    @Override
    public void setHardState(HardState hs) {
        InvariantViolation.check(hs.term() >= hardState.term(), "term went back from %d to %d",
                hardState.term(), hs.term());
        hardState = hs;
    }

    /** Forces every write so far (one fsync of the log and the hard state). */
    @Override
    public void sync() {
        syncs++;
        if (firstDirty != Integer.MAX_VALUE) {
            while (durableEntries.size() > firstDirty) {
                durableEntries.remove(durableEntries.size() - 1);
            }
            for (int i = durableEntries.size(); i < entries.size(); i++) {
                durableEntries.add(entries.get(i));
            }
            firstDirty = Integer.MAX_VALUE;
        }
        durableHardState = hardState;
    }

    /** Loses every unforced write, as a power failure would. */
    public void crash() {
        if (firstDirty != Integer.MAX_VALUE) {
            while (entries.size() > firstDirty) {
                entries.remove(entries.size() - 1);
            }
            for (int i = entries.size(); i < durableEntries.size(); i++) {
                entries.add(durableEntries.get(i));
            }
            firstDirty = Integer.MAX_VALUE;
        }
        hardState = durableHardState;
    }

    /** The hard state a crash would leave (test and invariant use). */
    public HardState durableHardState() {
        return durableHardState;
    }

    /** The log a crash would leave, as an unmodifiable view (test and invariant use). */
    public List<Entry> durableEntries() {
        return java.util.Collections.unmodifiableList(durableEntries);
    }

    public long syncCount() {
        return syncs;
    }
}
