package io.flotilla.raft;

import java.util.Arrays;
import java.util.Objects;

/**
 * One log entry. {@code data} is owned by the log once the entry is created: callers must not
 * mutate the array afterwards (copying every payload would double the allocation rate).
 */
public record Entry(long index, long term, EntryType type, byte[] data) {

    private static final byte[] EMPTY = new byte[0];

    public Entry {
        Objects.requireNonNull(type, "type");
        if (index <= 0 || term <= 0) {
            throw new IllegalArgumentException("entry index and term start at 1: " + index + "/" + term);
        }
        data = data == null ? EMPTY : data;
    }

    public static Entry noop(long index, long term) {
        return new Entry(index, term, EntryType.NOOP, EMPTY);
    }

    /** Approximate encoded size, used to bound AppendEntries batches and Ready sizes. */
    public int sizeBytes() {
        return data.length + 24;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Entry e && e.index == index && e.term == term && e.type == type
                && Arrays.equals(e.data, data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(index, term, type, Arrays.hashCode(data));
    }

    @Override
    public String toString() {
        return "Entry{" + index + "/" + term + " " + type + " " + data.length + "B}";
    }
}
