package io.flotilla.raft.node;

import io.flotilla.raft.Entry;

/** The replicated application. Called on the node's event-loop thread, in log order. */
public interface StateMachine {

    /** Applies one committed entry (NOOP and CONF_CHANGE entries included, to keep indexes dense). */
    void apply(Entry entry);
}
