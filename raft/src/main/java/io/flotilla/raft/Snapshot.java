package io.flotilla.raft;

import java.util.Arrays;

/**
 * A state machine snapshot: everything up to and including {@code index} (whose entry had
 * {@code term}), as the opaque bytes the state machine produced. The core only moves these bytes
 * (from storage into an InstallSnapshot, from an InstallSnapshot into a Ready); it never reads
 * them. The voter set is not part of it while membership is fixed in {@link RaftConfig}; with
 * membership changes the configuration as of {@code index} belongs here (Figure 13 "last config").
 *
 * <p>As with {@link Entry}, {@code data} is owned by the snapshot once created (no defensive
 * copies: snapshots can be large); callers must not mutate it.
 *
 * <p>{@link #EMPTY} (index 0) means "no snapshot": the log starts at index 1.
 */
public record Snapshot(long index, long term, byte[] data) {

    public static final Snapshot EMPTY = new Snapshot(0, 0, new byte[0]);

    public Snapshot {
        if (index < 0 || term < 0 || (index == 0) != (term == 0)) {
            throw new IllegalArgumentException("bad snapshot point (" + index + ", " + term + ")");
        }
        data = data == null ? new byte[0] : data;
    }

    public boolean isEmpty() {
        return index == 0;
    }

    /** The payload size, without copying it. */
    public int sizeBytes() {
        return data.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Snapshot s && s.index == index && s.term == term && Arrays.equals(s.data, data);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(index) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Snapshot{" + index + "@" + term + ", " + data.length + " bytes}";
    }
}
