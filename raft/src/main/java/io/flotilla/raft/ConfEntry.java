package io.flotilla.raft;

import io.flotilla.raft.quorum.Configuration;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The payload of a {@link EntryType#CONF_CHANGE} entry: the change that was asked for and the
 * whole configuration it results in. Carrying the result (not only the delta) lets any node —
 * including a fresh one that never saw the bootstrap configuration — know the configuration from
 * the entry alone. {@code leaveJoint} marks the leader's automatic follow-up entry that leaves a
 * joint configuration (its {@code change} is empty).
 *
 * <p>A driver that applies a committed CONF_CHANGE entry decodes it with {@link #decode}.
 */
public record ConfEntry(ConfChange change, boolean leaveJoint, Configuration configuration) {

    private static final byte VERSION = 1;

    public static ConfEntry decode(byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data);
        byte version = b.get();
        if (version != VERSION) {
            throw new IllegalArgumentException("unknown conf entry version " + version);
        }
        boolean leave = b.get() != 0;
        int n = b.getInt();
        if (n < 0 || n > b.remaining() / 9) {
            // Checked before allocating: a peer's garbage count must cost an exception, not the heap.
            throw new IllegalArgumentException("bad change count " + n);
        }
        List<ConfChange.Change> changes = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ConfChange.Type type = ConfChange.Type.values()[b.get()];
            changes.add(new ConfChange.Change(type, b.getLong()));
        }
        Configuration c = new Configuration(readSet(b), readSet(b), readSet(b), readSet(b));
        return new ConfEntry(new ConfChange(changes), leave, c);
    }

    public byte[] encode() {
        Configuration c = configuration;
        int size = 1 + 1 + 4 + change.changes().size() * 9
                + 16 + 8 * (c.voters().size() + c.outgoing().size() + c.learners().size() + c.learnersNext().size());
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put(VERSION).put((byte) (leaveJoint ? 1 : 0)).putInt(change.changes().size());
        for (ConfChange.Change ch : change.changes()) {
            b.put((byte) ch.type().ordinal()).putLong(ch.nodeId());
        }
        writeSet(b, c.voters());
        writeSet(b, c.outgoing());
        writeSet(b, c.learners());
        writeSet(b, c.learnersNext());
        return b.array();
    }

    /** Also used by the snapshot encodings: a set as a count and sorted ids. */
    static void writeSet(ByteBuffer b, Set<Long> set) {
        b.putInt(set.size());
        for (long id : new TreeSet<>(set)) {
            b.putLong(id);
        }
    }

    static Set<Long> readSet(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0 || n > b.remaining() / 8) {
            throw new IllegalArgumentException("bad member count " + n);
        }
        Set<Long> s = new HashSet<>();
        for (int i = 0; i < n; i++) {
            s.add(b.getLong());
        }
        return s;
    }

    /** A configuration alone, for snapshot metadata (WalRaftStorage's file). */
    public static byte[] encodeConfiguration(Configuration c) {
        ByteBuffer b = ByteBuffer.allocate(16 + 8 * (c.voters().size() + c.outgoing().size()
                + c.learners().size() + c.learnersNext().size()));
        writeSet(b, c.voters());
        writeSet(b, c.outgoing());
        writeSet(b, c.learners());
        writeSet(b, c.learnersNext());
        return b.array();
    }

    public static Configuration decodeConfiguration(ByteBuffer b) {
        return new Configuration(readSet(b), readSet(b), readSet(b), readSet(b));
    }
}
