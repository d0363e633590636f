package io.flotilla.raft.node;

import io.flotilla.raft.Message;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Delivers messages between RaftNodes of one JVM (tests, single-process demos). */
public final class InProcessTransport implements Transport {

    private final Map<Long, RaftNode> nodes = new ConcurrentHashMap<>();

    public void register(RaftNode node) {
        nodes.put(node.id(), node);
    }

    public void unregister(long id) {
        nodes.remove(id);
    }

    @Override
    public void send(Message message) {
        RaftNode to = nodes.get(message.to());
        if (to != null) {
            to.deliver(message);
        }
    }
}
