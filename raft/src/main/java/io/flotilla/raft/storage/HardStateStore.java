package io.flotilla.raft.storage;

import io.flotilla.raft.HardState;

/** Term, vote and commit index. Read by the core at start; written by the driver (as a Ready says). */
public interface HardStateStore {

    /** The last durably saved hard state, or {@link HardState#EMPTY}. */
    HardState hardState();
}
