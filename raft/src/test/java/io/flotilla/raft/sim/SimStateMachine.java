package io.flotilla.raft.sim;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.node.StateMachine;
import java.util.concurrent.CompletableFuture;

/**
 * The production driver's view of a simulated node's {@link SimRegisters}: every apply, install
 * and snapshot passes the cluster invariants first, so the simulator checks exactly what
 * {@link io.flotilla.raft.node.RaftReplica} hands the state machine.
 */
final class SimStateMachine implements StateMachine {

    private final SimNode node;
    private final SimRegisters sm;
    private final ClusterInvariants invariants;
    private final Runnable onInstall;
    private final Runnable onSnapshot;

    SimStateMachine(SimNode node, ClusterInvariants invariants, Runnable onInstall, Runnable onSnapshot) {
        this.node = node;
        this.sm = node.stateMachine;
        this.invariants = invariants;
        this.onInstall = onInstall;
        this.onSnapshot = onSnapshot;
    }

    @Override
    public void apply(Entry entry) {
        invariants.onApply(node, entry);
        sm.apply(entry);
    }

    @Override
    public CompletableFuture<Taken> takeSnapshot(long appliedIndex) {
        if (sm.appliedIndex() != appliedIndex) {
            throw new AssertionError("node " + node.id + ": snapshot asked at " + appliedIndex + " but applied "
                    + sm.appliedIndex());
        }
        byte[] data = sm.serialize();
        invariants.onSnapshot(node, new Snapshot(appliedIndex, node.core.log().term(appliedIndex), data));
        onSnapshot.run();
        return CompletableFuture.completedFuture(new Taken(appliedIndex, data));
    }

    @Override
    public void restore(long index, byte[] data) {
        // Called once the leader's snapshot is durable in storage (the Ready's force).
        Snapshot installed = node.storage.snapshot();
        if (installed.index() != index) {
            throw new AssertionError("node " + node.id + ": restoring " + index + " but storage holds " + installed);
        }
        invariants.onSnapshot(node, installed);
        sm.restore(data);
        onInstall.run();
    }
}
