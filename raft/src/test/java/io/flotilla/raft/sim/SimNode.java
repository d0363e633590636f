package io.flotilla.raft.sim;

import io.flotilla.raft.RaftCore;
import io.flotilla.raft.node.RaftReplica;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.ArrayList;
import java.util.List;

/**
 * One simulated server. {@link #storage} survives crashes (minus unforced writes); the replica
 * (the production driver of the group, with its core), the state machine and the client
 * bookkeeping are volatile and rebuilt on restart.
 */
final class SimNode {

    final long id;
    final MemoryStorage storage = new MemoryStorage();
    /** The production driver; null while crashed. */
    RaftReplica replica;
    /** {@code replica.core()}, for the invariants and the operator; null while crashed. */
    RaftCore core;
    SimRegisters stateMachine;
    /** Bumped on every crash so that events scheduled for an old incarnation are ignored. */
    int incarnation;
    /** Simulated milliseconds between this incarnation's ticks: its clock rate. */
    long tickPeriod;

    // A stalled Raft loop (SimOptions.stalls): inputs queue, nothing runs, the clock goes on.
    boolean stalled;
    List<Runnable> stalledInputs = new ArrayList<>();

    /** Client operations waiting on this node (resolved as unknown if it crashes). */
    final List<SimClients.PendingOp> pending = new ArrayList<>();

    // Invariant bookkeeping.
    long lastCommitSeen;
    long checkedCommit;
    long maxDurableTerm;
    long maxDurableCommit;

    /** Bootstrap voters: the group's for an original member, empty for a node added later. */
    final java.util.Set<Long> bootstrap;

    SimNode(long id, java.util.Set<Long> bootstrap) {
        this.id = id;
        this.bootstrap = java.util.Set.copyOf(bootstrap);
    }

    boolean up() {
        return replica != null;
    }
}
