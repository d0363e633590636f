package io.flotilla.raft;

import io.flotilla.raft.quorum.Configuration;
import java.util.Arrays;

/**
 * A state machine snapshot: everything up to and including {@code index} (whose entry had
 * {@code term}), as the opaque bytes the state machine produced. The core only moves these bytes
 * (from storage into an InstallSnapshot, from an InstallSnapshot into a Ready); it never reads
 * them. {@code configuration} is the membership as of {@code index} (Figure 13 "last config"):
 * {@link Configuration#EMPTY} means no configuration entry was ever committed up to {@code index},
 * so the bootstrap voters of {@link RaftConfig} still apply.
 *
 * <p>As with {@link Entry}, {@code data} is owned by the snapshot once created (no defensive
 * copies: snapshots can be large); callers must not mutate it.
 *
 * <p>{@link #EMPTY} (index 0) means "no snapshot": the log starts at index 1.
 */
public record Snapshot(long index, long term, byte[] data, Configuration configuration) {

    public static final Snapshot EMPTY = new Snapshot(0, 0, new byte[0]);

    public Snapshot {
        if (index < 0 || term < 0 || (index == 0) != (term == 0)) {
            throw new IllegalArgumentException("bad snapshot point (" + index + ", " + term + ")");
        }
        data = data == null ? new byte[0] : data;
        configuration = configuration == null ? Configuration.EMPTY : configuration;
    }

    /** A snapshot without a recorded configuration (the bootstrap voters apply). */
    public Snapshot(long index, long term, byte[] data) {
        this(index, term, data, Configuration.EMPTY);
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
        return o instanceof Snapshot s && s.index == index && s.term == term && Arrays.equals(s.data, data)
                && s.configuration.equals(configuration);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(index) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Snapshot{" + index + "@" + term + ", " + data.length + " bytes"
                + (configuration.isEmpty() ? "" : ", " + configuration) + "}";
    }
}
