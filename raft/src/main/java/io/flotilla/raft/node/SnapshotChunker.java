package io.flotilla.raft.node;

import io.flotilla.raft.DropReason;
import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.MessageValidator;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
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
 * makes the assembler drop the partial snapshot (a chunk is input from the network: it is checked,
 * never trusted, see {@link #checkSender} and {@link Assembler#offer}); the leader, which hears nothing back, resends the
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
        return toProto(c).toByteArray();
    }

    public static SnapshotChunk decode(byte[] bytes) throws com.google.protobuf.InvalidProtocolBufferException {
        return fromProto(io.flotilla.raft.proto.SnapshotChunk.parseFrom(bytes));
    }

    /** The chunk as its protobuf message (for a transport that embeds it in an envelope of its own). */
    public static io.flotilla.raft.proto.SnapshotChunk toProto(SnapshotChunk c) {
        return io.flotilla.raft.proto.SnapshotChunk.newBuilder()
                .setGroupId(c.groupId()).setFrom(c.from()).setTo(c.to()).setTerm(c.term())
                .setSnapshotIndex(c.snapshotIndex()).setSnapshotTerm(c.snapshotTerm()).setOffset(c.offset())
                .setData(com.google.protobuf.UnsafeByteOperations.unsafeWrap(c.data())).setDone(c.done())
                .setCrc32C(c.crc32c()).setConfiguration(io.flotilla.raft.codec.MessageCodec.toProto(c.configuration()))
                .build();
    }

    public static SnapshotChunk fromProto(io.flotilla.raft.proto.SnapshotChunk p) {
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
     * Whether node {@code self} should buffer a chunk at all, given what it knows (a driver's view
     * of its core, which may be a round old): addressed to it, and from its leader. While the
     * leader is unknown, or the chunk is of a later term than ours (a new leader we have not heard
     * of yet), any member of our configuration may send one; a node that knows no configuration yet
     * (joining) takes it from anyone. The leader is taken even when it is not in our configuration:
     * a node far enough behind to need a snapshot may not have the entry that added it yet.
     */
    public static Optional<DropReason> checkSender(SnapshotChunk c, long groupId, long self, long leaderId,
                                                  long term, Configuration configuration) {
        Optional<DropReason> header = MessageValidator.header(c.groupId(), c.from(), c.to(), groupId, self);
        if (header.isPresent() || c.from() == leaderId) {
            return header;
        }
        if (leaderId != 0 && c.term() <= term) {
            return Optional.of(DropReason.NOT_FROM_LEADER);
        }
        if (!configuration.isEmpty() && !configuration.isMember(c.from())) {
            return Optional.of(DropReason.NOT_A_MEMBER);
        }
        return Optional.empty();
    }

    /**
     * Reassembles chunks on the receiving side: at most one partial snapshot per group (only a
     * group's leader sends one, and a newer attempt replaces an older one), all of them together
     * bounded by one node-wide byte budget, so no sender id — true or forged — can make this node
     * hold more. A partial that received nothing for {@code abandonAfterNanos} is dropped. Senders
     * are checked by the caller ({@link #checkSender}) before {@link #offer}. Not thread-safe.
     */
    public static final class Assembler {

        /** What one chunk did. */
        public sealed interface Outcome permits Incomplete, Complete, Dropped {}

        /** Buffered; more chunks are needed. */
        public record Incomplete() implements Outcome {}

        /** The last chunk arrived and the payload checks out. */
        public record Complete(InstallSnapshot message) implements Outcome {}

        /** The chunk (and the partial snapshot it belonged to, if any) was dropped. */
        public record Dropped(DropReason reason) implements Outcome {}

        private static final Incomplete INCOMPLETE = new Incomplete();
        /** A snapshot is handed to the core as one array. */
        private static final long MAX_SNAPSHOT_ARRAY = Integer.MAX_VALUE - 8;

        private static final class Partial {
            final SnapshotChunk first;
            /** The chunks' payloads, joined once at the end (no doubling buffer: exact accounting). */
            final List<byte[]> pieces = new ArrayList<>();
            long size;
            long lastChunkNanos;

            Partial(SnapshotChunk first) {
                this.first = first;
            }

            boolean sameSnapshot(SnapshotChunk c) {
                return c.term() == first.term() && c.from() == first.from() && c.snapshotIndex() == first.snapshotIndex()
                        && c.snapshotTerm() == first.snapshotTerm() && c.to() == first.to();
            }
        }

        private final long budgetBytes;
        private final long abandonAfterNanos;
        private final LongSupplier nanoClock;
        private final Map<Long, Partial> partials = new HashMap<>();
        private long buffered;
        private long dropped;

        /** A budget that is also the largest snapshot taken; partials are never abandoned for age. */
        public Assembler(long budgetBytes) {
            this(budgetBytes, Long.MAX_VALUE, System::nanoTime);
        }

        /**
         * @param budgetBytes       bytes buffered over all partial snapshots at once (so also the
         *                          largest snapshot this node can receive)
         * @param abandonAfterNanos a partial snapshot with no chunk for this long is dropped
         * @param nanoClock         monotonic time (a test's fake clock)
         */
        public Assembler(long budgetBytes, long abandonAfterNanos, LongSupplier nanoClock) {
            if (budgetBytes <= 0 || abandonAfterNanos <= 0) {
                throw new IllegalArgumentException("budget and abandon time must be positive");
            }
            this.budgetBytes = budgetBytes;
            this.abandonAfterNanos = abandonAfterNanos;
            this.nanoClock = nanoClock;
        }

        /** Adds a chunk; returns the whole InstallSnapshot once its last chunk arrived intact. */
        public Optional<InstallSnapshot> accept(SnapshotChunk c) {
            return offer(c) instanceof Complete done ? Optional.of(done.message()) : Optional.empty();
        }

        /** Adds a chunk whose sender the caller accepted ({@link #checkSender}). */
        public Outcome offer(SnapshotChunk c) {
            long now = nanoClock.getAsLong();
            partials.entrySet().removeIf(e -> {
                boolean abandoned = now - e.getValue().lastChunkNanos > abandonAfterNanos;
                if (abandoned) {
                    buffered -= e.getValue().size;
                    dropped++;
                }
                return abandoned;
            });
            // Sizes are refused before anything is buffered: an offset or payload no snapshot
            // within the budget can have is garbage, whoever sent it.
            boolean sane = c.offset() >= 0 && c.snapshotIndex() > 0 && c.snapshotTerm() > 0
                    && c.snapshotTerm() <= c.term() && c.offset() + (long) c.data().length <= budgetBytes
                    && c.offset() + (long) c.data().length <= MAX_SNAPSHOT_ARRAY;
            Partial p = partials.get(c.groupId());
            if (!sane) {
                return drop(c.groupId(), p != null && p.sameSnapshot(c));
            }
            if (c.offset() == 0) {
                if (p != null && p.first.term() > c.term()) {
                    return drop(c.groupId(), false); // an older leader's attempt: keep the newer one
                }
                remove(c.groupId()); // a new (or resent) snapshot replaces any partial one
                p = new Partial(c);
                partials.put(c.groupId(), p);
            } else if (p == null || !p.sameSnapshot(c) || c.offset() != p.size) {
                // A gap, or a chunk of another attempt: wait for the resend (which starts at 0).
                return drop(c.groupId(), p != null);
            }
            if (buffered + c.data().length > budgetBytes) {
                return drop(c.groupId(), true);
            }
            p.pieces.add(c.data());
            p.size += c.data().length;
            p.lastChunkNanos = now;
            buffered += c.data().length;
            if (!c.done()) {
                return INCOMPLETE;
            }
            remove(c.groupId());
            byte[] data = new byte[(int) p.size];
            int at = 0;
            for (byte[] piece : p.pieces) {
                System.arraycopy(piece, 0, data, at, piece.length);
                at += piece.length;
            }
            CRC32C crc = new CRC32C();
            crc.update(data);
            if ((int) crc.getValue() != c.crc32c()) {
                dropped++;
                return new Dropped(DropReason.SNAPSHOT_CHECKSUM);
            }
            return new Complete(new InstallSnapshot(c.groupId(), c.from(), c.to(), c.term(),
                    new Snapshot(c.snapshotIndex(), c.snapshotTerm(), data, c.configuration())));
        }

        private Dropped drop(long groupId, boolean withPartial) {
            if (withPartial) {
                remove(groupId);
            }
            dropped++;
            return new Dropped(DropReason.SNAPSHOT_CHUNK);
        }

        private void remove(long groupId) {
            Partial p = partials.remove(groupId);
            if (p != null) {
                buffered -= p.size;
            }
        }

        /** Chunks (with their partial snapshots) dropped so far: gaps, corruption, size, age. */
        public long dropped() {
            return dropped;
        }

        /** Payload bytes held in partial snapshots now (never above the budget). */
        public long bufferedBytes() {
            return buffered;
        }
    }
}
