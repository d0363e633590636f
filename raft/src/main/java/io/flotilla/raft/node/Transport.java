package io.flotilla.raft.node;

import io.flotilla.raft.Message;

/** Sends messages to peers. Must not block the caller's event loop; delivery may fail silently. */
public interface Transport {
    void send(Message message);
}
