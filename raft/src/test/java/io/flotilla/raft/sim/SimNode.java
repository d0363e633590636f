package io.flotilla.raft.sim;

import io.flotilla.raft.RaftCore;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One simulated server. {@link #storage} survives crashes (minus unforced writes); the core, the
 * state machine and the client bookkeeping are volatile and rebuilt on restart.
 */
final class SimNode {

    final long id;
    final MemoryStorage storage = new MemoryStorage();
    /** Null while crashed. */
    RaftCore core;
    KvStateMachine stateMachine;
    /** Bumped on every crash so that events scheduled for an old incarnation are ignored. */
    int incarnation;
    /** Simulated milliseconds between this incarnation's ticks: its clock rate. */
    long tickPeriod;
    /** This incarnation's election timeout T, in ticks. */
    int electionTick;

    // A stalled Raft loop (SimOptions.stalls): inputs queue, ticks are counted, nothing runs.
    boolean stalled;
    long owedTicks;
    List<Runnable> stalledInputs = new ArrayList<>();

    // Client operations waiting on this node.
    final Map<Long, SimClients.PendingOp> writesByIndex = new HashMap<>();
    final Map<Long, SimClients.PendingOp> readsById = new HashMap<>();
    /** Reads with a read index, waiting for the state machine to catch up. */
    final List<SimClients.PendingOp> readsAwaitingApply = new ArrayList<>();

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
        return core != null;
    }
}
