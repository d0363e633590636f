package io.flotilla.raft.node;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Failure;
import io.flotilla.raft.Message;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftCore;
import io.flotilla.raft.ReadResult;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Rejected;
import io.flotilla.raft.Role;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.storage.RaftStorage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A driver for one Raft group: one event-loop thread owns the {@link RaftCore}, ticks it on a
 * timer, and handles every Ready by the contract (persist with one force, send, apply, advance).
 * Public methods may be called from any thread; they enqueue work on the loop. A first, simple
 * driver: a multi-group server will share loops and batch forces across groups.
 *
 * <p>Snapshots: with {@code snapshotEvery > 0} the node snapshots its state machine and compacts
 * the log every that many applied entries ({@link StateMachine#snapshot()}, then
 * {@link RaftStorage#createSnapshot}); a snapshot from the leader is installed into storage (in the
 * same force as the Ready's entries) and then into the state machine before anything after it is
 * applied. At start, an in-memory state machine behind the storage's snapshot is restored from it.
 */
public final class RaftNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RaftNode.class);

    private final long id;
    private final RaftCore core;
    private final RaftStorage storage;
    private final Transport transport;
    private final StateMachine stateMachine;
    private final ScheduledExecutorService loop;
    private final long tickMillis;
    private final long snapshotEvery;

    // Loop-confined client bookkeeping.
    private final Map<Long, PendingWrite> writesByIndex = new HashMap<>();
    private final Map<Long, CompletableFuture<Long>> readsById = new HashMap<>();
    private final List<PendingRead> readsAwaitingApply = new ArrayList<>();
    private long nextReadId = 1;
    private volatile Role role = Role.FOLLOWER;
    private volatile long leaderId;
    private volatile long appliedIndex;

    private record PendingWrite(long term, CompletableFuture<Long> future) {}

    private record PendingRead(long readIndex, CompletableFuture<Long> future) {}

    public RaftNode(RaftConfig config, RaftStorage storage, Transport transport, StateMachine stateMachine,
                    long tickMillis) {
        this(config, storage, transport, stateMachine, tickMillis, 0);
    }

    /** @param snapshotEvery compact the log every this many applied entries; 0 = never */
    public RaftNode(RaftConfig config, RaftStorage storage, Transport transport, StateMachine stateMachine,
                    long tickMillis, long snapshotEvery) {
        this.id = config.nodeId();
        this.storage = storage;
        Snapshot snapshot = storage.snapshot();
        RaftConfig effective = config;
        if (config.applied() < snapshot.index()) {
            // The state machine is behind the compacted log: it can only continue from the snapshot.
            stateMachine.restore(snapshot.index(), snapshot.data());
            effective = config.withApplied(snapshot.index());
        }
        this.core = new RaftCore(effective, storage, storage);
        this.transport = transport;
        this.stateMachine = stateMachine;
        this.tickMillis = tickMillis;
        this.snapshotEvery = snapshotEvery;
        this.appliedIndex = effective.applied();
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "raft-node-" + config.groupId() + "-" + id);
            t.setDaemon(true);
            return t;
        });
    }

    public long id() {
        return id;
    }

    public void start() {
        loop.scheduleAtFixedRate(() -> run(core::tick), tickMillis, tickMillis, TimeUnit.MILLISECONDS);
    }

    public boolean isLeader() {
        return role == Role.LEADER;
    }

    public long leaderId() {
        return leaderId;
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    /** A message from a peer. */
    public void deliver(Message m) {
        loop.execute(() -> run(() -> core.step(m)));
    }

    /** Completes with the entry's index once it is applied here; exceptionally with {@link RaftException}. */
    public CompletableFuture<Long> propose(byte[] command) {
        CompletableFuture<Long> f = new CompletableFuture<>();
        loop.execute(() -> run(() -> {
            ProposeResult r = core.propose(command);
            if (r instanceof Rejected rej) {
                f.completeExceptionally(new RaftException(rej.error(), rej.leaderHint()));
            } else {
                ProposeResult.Accepted a = (ProposeResult.Accepted) r;
                writesByIndex.put(a.index(), new PendingWrite(a.term(), f));
            }
        }));
        return f;
    }

    /**
     * Completes with a read index once this node has applied it: a linearizable read may then be
     * served from the local state machine.
     */
    public CompletableFuture<Long> linearizableRead() {
        CompletableFuture<Long> f = new CompletableFuture<>();
        loop.execute(() -> run(() -> {
            long readId = nextReadId++;
            ReadResult r = core.readIndex(readId);
            if (r instanceof Rejected rej) {
                f.completeExceptionally(new RaftException(rej.error(), rej.leaderHint()));
            } else {
                readsById.put(readId, f);
            }
        }));
        return f;
    }

    /** Runs one input on the loop, then drains the Ready. A broken invariant stops the node. */
    private void run(Runnable input) {
        try {
            input.run();
            while (core.hasReady()) {
                handle(core.ready());
            }
            role = core.role();
            leaderId = core.leaderId();
        } catch (Error e) {
            log.error("node {} stopping: {}", id, e.toString());
            loop.shutdownNow();
            throw e;
        }
    }

    private void handle(Ready rd) {
        if (rd.sendBeforePersist()) {
            rd.messages().forEach(transport::send);
        }
        if (rd.mustSync()) {
            storage.persist(rd.snapshot(), rd.hardState(), rd.entries());
        }
        if (!rd.sendBeforePersist()) {
            rd.messages().forEach(transport::send);
        }
        if (rd.snapshot() != null) {
            installSnapshot(rd.snapshot());
        }
        for (Entry e : rd.committedEntries()) {
            stateMachine.apply(e);
            appliedIndex = e.index();
            PendingWrite w = writesByIndex.remove(e.index());
            if (w != null) {
                if (w.term() == e.term()) {
                    w.future().complete(e.index());
                } else {
                    // Another leader's entry took the index: ours was never committed.
                    w.future().completeExceptionally(new RaftException(io.flotilla.raft.RaftError.LEADERSHIP_LOST, 0));
                }
            }
        }
        for (ReadState rs : rd.readStates()) {
            CompletableFuture<Long> f = readsById.remove(rs.requestId());
            if (f != null) {
                readsAwaitingApply.add(new PendingRead(rs.readIndex(), f));
            }
        }
        for (Failure failure : rd.failures()) {
            CompletableFuture<Long> f = failure.kind() == Failure.Kind.PROPOSAL
                    ? removeWrite(failure.id()) : readsById.remove(failure.id());
            if (f != null) {
                f.completeExceptionally(new RaftException(failure.error(), 0));
            }
        }
        core.advance(rd);
        if (snapshotEvery > 0 && appliedIndex - storage.snapshot().index() >= snapshotEvery) {
            storage.createSnapshot(appliedIndex, stateMachine.snapshot());
        }
        for (Iterator<PendingRead> it = readsAwaitingApply.iterator(); it.hasNext(); ) {
            PendingRead r = it.next();
            if (r.readIndex() <= appliedIndex) {
                it.remove();
                r.future().complete(r.readIndex());
            }
        }
    }

    /** A snapshot from the leader, already durable in storage: now the state machine. */
    private void installSnapshot(Snapshot snapshot) {
        stateMachine.restore(snapshot.index(), snapshot.data());
        appliedIndex = snapshot.index();
        // Writes waiting on an index the snapshot covers will never be applied here one by one:
        // their outcome is unknown to this node (the entry there may or may not be ours).
        for (Iterator<Map.Entry<Long, PendingWrite>> it = writesByIndex.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, PendingWrite> w = it.next();
            if (w.getKey() <= snapshot.index()) {
                it.remove();
                w.getValue().future().completeExceptionally(new RaftException(io.flotilla.raft.RaftError.LEADERSHIP_LOST, 0));
            }
        }
    }

    private CompletableFuture<Long> removeWrite(long index) {
        PendingWrite w = writesByIndex.remove(index);
        return w == null ? null : w.future();
    }

    @Override
    public void close() {
        loop.shutdownNow();
    }
}
