package io.flotilla.raft.node;

import io.flotilla.raft.Message;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Delivers messages between RaftNodes of one JVM (tests, single-process demos). */
public final class InProcessTransport implements Transport {

    private final Map<Long, RaftNode> nodes = new ConcurrentHashMap<>();
    /** 0: InstallSnapshot travels whole; otherwise in chunks of at most this many bytes. */
    private final int maxChunkBytes;
    /** Per receiving node (senders run on different threads: guarded by the assembler itself). */
    private final Map<Long, SnapshotChunker.Assembler> assemblers = new ConcurrentHashMap<>();

    public InProcessTransport() {
        this(0);
    }

    /**
     * @param maxChunkBytes if positive, snapshots are split into chunks of at most this many
     *     bytes, each through the wire encoding, and reassembled on the receiving side (what a
     *     network transport with bounded frames does)
     */
    public InProcessTransport(int maxChunkBytes) {
        this.maxChunkBytes = maxChunkBytes;
    }

    public void register(RaftNode node) {
        nodes.put(node.id(), node);
    }

    public void unregister(long id) {
        nodes.remove(id);
    }

    @Override
    public void send(Message message) {
        RaftNode to = nodes.get(message.to());
        if (to == null) {
            return;
        }
        if (maxChunkBytes > 0 && message instanceof Message.InstallSnapshot is) {
            SnapshotChunker.Assembler assembler = assemblers.computeIfAbsent(message.to(),
                    id -> new SnapshotChunker.Assembler(Long.MAX_VALUE));
            for (SnapshotChunker.SnapshotChunk chunk : SnapshotChunker.split(is, maxChunkBytes)) {
                try {
                    chunk = SnapshotChunker.decode(SnapshotChunker.encode(chunk));
                } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                    throw new IllegalStateException(e);
                }
                java.util.Optional<Message.InstallSnapshot> whole;
                synchronized (assembler) {
                    whole = assembler.accept(chunk);
                }
                whole.ifPresent(to::deliver);
            }
            return;
        }
        to.deliver(message);
    }
}
