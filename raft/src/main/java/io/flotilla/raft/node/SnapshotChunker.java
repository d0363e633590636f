package io.flotilla.raft.node;

import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Chunked InstallSnapshot at the transport layer (the paper's offset/data/done fields, Figure 13),
 * etcd style: the core sends and receives one whole {@link InstallSnapshot}; a transport with a
 * bounded frame size splits it with {@link #split} and the receiving side puts it back together
 * with an {@link Assembler} before handing it to the core. Keeping chunks out of the core keeps it
 * free of partial-snapshot state and lets a production transport stream the chunks from and to
 * files (RocksDB checkpoints) instead of memory.
 *
 * <p>Loss handling is deliberately simple: a missing, duplicated-out-of-order or corrupt chunk
 * makes the assembler drop the partial snapshot; the leader, which hears nothing back, resends the
 * whole snapshot after its snapshot timeout (or at once if the transport calls
 * {@code RaftCore.reportSnapshotFailure}).
 */
public final class SnapshotChunker {

    private SnapshotChunker() {}

    /**
     * One piece of a snapshot: bytes [offset, offset + data.length) of its payload. The last chunk
     * has {@code done} and the CRC32C of the whole payload.
     */
    public record SnapshotChunk(long groupId, long from, long to, long term, long snapshotIndex, long snapshotTerm,
                                long offset, byte[] data, boolean done, int crc32c, Configuration configuration) {
        public SnapshotChunk {
            configuration = configuration == null ? Configuration.EMPTY : configuration;
        }

        /** A chunk of a snapshot without a recorded configuration. */
        public SnapshotChunk(long groupId, long from, long to, long term, long snapshotIndex, long snapshotTerm,
                             long offset, byte[] data, boolean done, int crc32c) {
            this(groupId, from, to, term, snapshotIndex, snapshotTerm, offset, data, done, crc32c, Configuration.EMPTY);
        }
    }

    /** A transport-level snapshot chunk on the wire. */
    public static byte[] encode(SnapshotChunk c) {
        return io.flotilla.raft.proto.SnapshotChunk.newBuilder()
                .setGroupId(c.groupId()).setFrom(c.from()).setTo(c.to()).setTerm(c.term())
                .setSnapshotIndex(c.snapshotIndex()).setSnapshotTerm(c.snapshotTerm()).setOffset(c.offset())
                .setData(com.google.protobuf.ByteString.copyFrom(c.data())).setDone(c.done()).setCrc32C(c.crc32c())
                .setConfiguration(io.flotilla.raft.codec.MessageCodec.toProto(c.configuration()))
                .build().toByteArray();
    }

    public static SnapshotChunk decode(byte[] bytes) throws com.google.protobuf.InvalidProtocolBufferException {
        var p = io.flotilla.raft.proto.SnapshotChunk.parseFrom(bytes);
        return new SnapshotChunk(p.getGroupId(), p.getFrom(), p.getTo(), p.getTerm(),
                p.getSnapshotIndex(), p.getSnapshotTerm(), p.getOffset(), p.getData().toByteArray(), p.getDone(),
                p.getCrc32C(), io.flotilla.raft.codec.MessageCodec.fromProto(p.getConfiguration()));
    }

    /** Splits {@code m} into chunks of at most {@code maxChunkBytes} payload bytes (at least one chunk). */
    public static List<SnapshotChunk> split(InstallSnapshot m, int maxChunkBytes) {
        if (maxChunkBytes <= 0) {
            throw new IllegalArgumentException("maxChunkBytes must be positive");
        }
        Snapshot s = m.snapshot();
        byte[] data = s.data();
        CRC32C crc = new CRC32C();
        crc.update(data);
        List<SnapshotChunk> out = new ArrayList<>();
        int offset = 0;
        do {
            int len = Math.min(maxChunkBytes, data.length - offset);
            byte[] piece = java.util.Arrays.copyOfRange(data, offset, offset + len);
            boolean done = offset + len == data.length;
            out.add(new SnapshotChunk(m.groupId(), m.from(), m.to(), m.term(), s.index(), s.term(), offset, piece, done,
                    done ? (int) crc.getValue() : 0, s.configuration()));
            offset += len;
        } while (offset < data.length);
        return out;
    }

    /**
     * Reassembles chunks on the receiving side, one partial snapshot per (group, sender). Not
     * thread-safe. Memory is bounded by {@code maxSnapshotBytes} per partial snapshot.
     */
    public static final class Assembler {

        private record Key(long groupId, long from) {}

        private static final class Partial {
            final SnapshotChunk first;
            final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

            Partial(SnapshotChunk first) {
                this.first = first;
            }

            boolean sameSnapshot(SnapshotChunk c) {
                return c.term() == first.term() && c.snapshotIndex() == first.snapshotIndex()
                        && c.snapshotTerm() == first.snapshotTerm() && c.to() == first.to();
            }
        }

        private final long maxSnapshotBytes;
        private final Map<Key, Partial> partials = new HashMap<>();
        private long dropped;

        public Assembler(long maxSnapshotBytes) {
            this.maxSnapshotBytes = maxSnapshotBytes;
        }

        /** Adds a chunk; returns the whole InstallSnapshot once its last chunk arrived intact. */
        public Optional<InstallSnapshot> accept(SnapshotChunk c) {
            Key key = new Key(c.groupId(), c.from());
            Partial p = partials.get(key);
            if (c.offset() == 0) {
                p = new Partial(c); // a new (or resent) snapshot replaces any partial one
                partials.put(key, p);
            } else if (p == null || !p.sameSnapshot(c) || c.offset() != p.bytes.size()) {
                drop(key); // a gap or a chunk of another attempt: wait for the resend
                return Optional.empty();
            }
            if (p.bytes.size() + (long) c.data().length > maxSnapshotBytes) {
                drop(key);
                return Optional.empty();
            }
            p.bytes.writeBytes(c.data());
            if (!c.done()) {
                return Optional.empty();
            }
            partials.remove(key);
            byte[] data = p.bytes.toByteArray();
            CRC32C crc = new CRC32C();
            crc.update(data);
            if ((int) crc.getValue() != c.crc32c()) {
                dropped++;
                return Optional.empty();
            }
            return Optional.of(new InstallSnapshot(c.groupId(), c.from(), c.to(), c.term(),
                    new Snapshot(c.snapshotIndex(), c.snapshotTerm(), data, c.configuration())));
        }

        private void drop(Key key) {
            if (partials.remove(key) != null) {
                dropped++;
            }
        }

        /** Partial snapshots discarded so far (gaps, corruption, oversize): for metrics and tests. */
        public long dropped() {
            return dropped;
        }
    }
}
