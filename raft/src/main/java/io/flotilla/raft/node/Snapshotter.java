package io.flotilla.raft.node;

import io.flotilla.raft.InvariantViolation;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's snapshot policy at work: when {@link RaftNode.SnapshotPolicy} says so, asks the
 * state machine for a snapshot ({@link StateMachine#takeSnapshot}, which may finish on another
 * thread), then records it in storage, which compacts the log below it. One snapshot at a time; a
 * failed one is retried after half the policy's entries more. Confined to the replica's thread:
 * a snapshot finished elsewhere comes back through the replica's mailbox.
 */
final class Snapshotter {

    private static final Logger log = LoggerFactory.getLogger(Snapshotter.class);

    private final RaftNode.SnapshotPolicy policy;
    private final RaftReplica.Mailbox mailbox;
    private boolean inFlight;
    private long notBefore;
    private long bytesSinceSnapshot;
    /** Asked for by the log (a shared log cannot free a segment this group pins): due now. */
    private boolean requested;
    private volatile long taken;
    private volatile long installed;

    Snapshotter(RaftNode.SnapshotPolicy policy, RaftReplica.Mailbox mailbox) {
        this.policy = policy;
        this.mailbox = mailbox;
    }

    long takenCount() {
        return taken;
    }

    long installedCount() {
        return installed;
    }

    void appliedBytes(int bytes) {
        bytesSinceSnapshot += bytes;
    }

    /** A snapshot from the leader replaced the state: the count of bytes since the last one restarts. */
    void snapshotInstalled() {
        bytesSinceSnapshot = 0;
        installed++;
    }

    /**
     * Takes a snapshot at the next chance whatever the policy's thresholds say (when anything was
     * applied since the last): a shared log asks when this group's old records keep a segment
     * from being freed.
     */
    void request() {
        requested = true;
    }

    /** After a Ready: starts a snapshot if the policy says one is due, or one was requested. */
    void maybeTake(RaftReplica replica) {
        long applied = replica.appliedIndex();
        if (inFlight || !policy.enabled() || (applied < notBefore && !requested)) {
            return;
        }
        long since = applied - replica.storage().snapshot().index();
        boolean due = requested || (policy.entries() > 0 && since >= policy.entries())
                || (policy.bytes() > 0 && bytesSinceSnapshot >= policy.bytes());
        if (!due || since <= 0) {
            return;
        }
        requested = false;
        inFlight = true;
        bytesSinceSnapshot = 0;
        long started = replica.nanos();
        CompletableFuture<StateMachine.Taken> taking;
        try {
            taking = replica.stateMachine().takeSnapshot(applied);
        } catch (RuntimeException e) {
            taking = CompletableFuture.failedFuture(e);
        }
        // Taken on this thread (a small state machine, the simulator): recorded now. Otherwise it
        // comes back as an input.
        boolean inline = taking.isDone();
        taking.whenComplete((t, err) -> {
            if (inline) {
                done(replica, applied, started, t, err);
            } else {
                mailbox.post(() -> done(replica, applied, started, t, err));
            }
        });
    }

    private void done(RaftReplica replica, long at, long started, StateMachine.Taken t, Throwable err) {
        inFlight = false;
        if (replica.isStopped()) {
            return;
        }
        long applied = replica.appliedIndex();
        if (err != null) {
            // Not fatal: the log keeps growing until a later attempt works.
            notBefore = applied + Math.max(1, policy.entries() / 2);
            log.warn("node {}: snapshot at {} failed; retrying later", replica.id(), at, err);
            return;
        }
        InvariantViolation.check(t.index() >= at && t.index() <= applied,
                "node %d: snapshot asked at %d came back at %d with applied %d", replica.id(), at, t.index(), applied);
        var storage = replica.storage();
        if (t.index() > storage.snapshot().index()) {
            // At the applied index the core knows the configuration; otherwise storage finds it.
            if (t.index() == replica.core().lastApplied()) {
                storage.createSnapshot(t.index(), replica.core().appliedConfiguration(), t.data());
            } else {
                storage.createSnapshot(t.index(), t.data());
            }
            taken++;
            replica.listener().snapshotTaken(t.index(), t.data().length, replica.nanos() - started);
            log.info("node {}: snapshot at {} ({} bytes), log compacted", replica.id(), t.index(), t.data().length);
        }
    }
}
