package io.flotilla.raft.sim;

import io.flotilla.checker.Operation;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.Rejected;
import io.flotilla.raft.Role;
import io.flotilla.raft.node.RaftException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

/**
 * The client workload: a few closed-loop clients writing unique values to and reading a handful
 * of keys, through whichever node they believe leads (sometimes a random node, to exercise
 * NOT_LEADER and follower reads). Requests go through the production driver's API
 * ({@link io.flotilla.raft.node.RaftReplica#propose}, {@code read}) and its futures; every operation is
 * recorded for the linearizability checker.
 *
 * <p>Outcomes: a write is OK when its future completes (its entry applied on the node it was
 * proposed to). When the future fails, the node's state machine settles what the driver could not
 * tell the client: the op applied there (OK), or another entry applied at its index (it definitely
 * failed: dropped from the history); else it is UNKNOWN, as after a crash or a timeout. A read is
 * OK when its future completes (its node applied up to the read index); any failure drops it
 * (reads have no effect).
 */
final class SimClients {

    static final long TIMEOUT_MILLIS = 500;

    static final class PendingOp {
        final long opId;
        final int client;
        final String key;
        final boolean write;
        final long value; // the value written
        final long invoke;
        final long node;
        long index;
        boolean done;

        PendingOp(long opId, int client, String key, boolean write, long value, long invoke, long node) {
            this.opId = opId;
            this.client = client;
            this.key = key;
            this.write = write;
            this.value = value;
            this.invoke = invoke;
            this.node = node;
        }
    }

    private final Simulation sim;
    private final SplittableRandom random;
    private final long[] leaderGuess;
    private final Map<Long, Operation> history = new LinkedHashMap<>();
    private final List<Long> acknowledgedWrites = new ArrayList<>();
    private long nextOpId = 1;
    private long nextValue = 1;
    private boolean stopped;
    long okWrites;
    long okReads;
    long unknownWrites;
    long rejected;

    SimClients(Simulation sim, SplittableRandom random, int clients) {
        this.sim = sim;
        this.random = random;
        this.leaderGuess = new long[clients];
    }

    void start() {
        for (int c = 0; c < leaderGuess.length; c++) {
            int client = c;
            sim.schedule(random.nextLong(1, 50), () -> issue(client));
        }
    }

    void stop() {
        stopped = true;
    }

    List<Operation> history() {
        return new ArrayList<>(history.values());
    }

    List<Long> acknowledgedWrites() {
        return acknowledgedWrites;
    }

    private void next(int client) {
        if (!stopped) {
            sim.schedule(random.nextLong(1, 30), () -> issue(client));
        }
    }

    private long stampMillis = -1;
    private long stampSeq;

    /**
     * A history timestamp: simulated milliseconds times 10^6 plus the order within that
     * millisecond, so that invocations and responses keep the exact order in which they happened.
     * Several events share a millisecond; a lease read is even invoked and answered in one event.
     * With millisecond stamps the checker had to guess the order of ties.
     */
    private long stamp() {
        long ms = sim.now();
        if (ms != stampMillis) {
            stampMillis = ms;
            stampSeq = 0;
        }
        return ms * 1_000_000 + ++stampSeq;
    }

    private void issue(int client) {
        if (stopped) {
            return;
        }
        long target = leaderGuess[client];
        if (target == 0 || random.nextInt(5) == 0) {
            target = 1 + random.nextInt(sim.nodes().size());
        }
        SimNode n = sim.node(target);
        if (!n.up()) {
            leaderGuess[client] = 0;
            next(client); // connection refused: nothing happened
            return;
        }
        String key = "k" + random.nextInt(sim.options().keys());
        long opId = nextOpId++;
        long now = stamp();
        boolean write = random.nextInt(100) < 60;
        PendingOp op = new PendingOp(opId, client, key, write, write ? nextValue++ : 0, now, target);
        if (write) {
            // Until its outcome is known the write is in the history without a response: a write
            // the client gives up on (one that waits out a stall, say) may still be proposed later.
            history.put(opId, Operation.write(client, key, op.value, now, Long.MAX_VALUE));
        }
        armTimeout(op);
        sim.input(n, () -> submit(n, op)); // queued while the node's loop is stalled
    }

    /** Hands the request to the node's driver. */
    private void submit(SimNode n, PendingOp op) {
        if (op.done) {
            if (!op.write) {
                return; // the client gave up; a read has no effect
            }
            // A write the client gave up on still reaches the log: its outcome stays unknown.
        }
        CompletableFuture<Long> f = new CompletableFuture<>();
        if (op.write) {
            ProposeResult r = n.replica.propose(SimRegisters.encodePut(op.opId, op.key, op.value), n.replica.nanos(), f);
            if (r instanceof Rejected rej) {
                history.remove(op.opId); // never in the log: no effect
                if (!op.done) {
                    op.done = true;
                    rejected++;
                    leaderGuess[op.client] = rej.leaderHint();
                    next(op.client);
                }
                return;
            }
            op.index = ((ProposeResult.Accepted) r).index();
            if (op.done) {
                return;
            }
            n.pending.add(op);
            f.whenComplete((index, error) -> writeDone(n, op, error));
        } else {
            n.pending.add(op);
            f.whenComplete((readIndex, error) -> readDone(n, op, error));
            n.replica.read(n.replica.nanos(), f);
        }
    }

    private void armTimeout(PendingOp op) {
        sim.schedule(TIMEOUT_MILLIS, () -> {
            if (!op.done) {
                finishUnknown(op);
            }
        });
    }

    /** Write outcome unknown (stays in the history with no response); read dropped. */
    private void finishUnknown(PendingOp op) {
        op.done = true;
        if (op.write) {
            unknownWrites++;
        } else {
            history.remove(op.opId);
        }
        leaderGuess[op.client] = 0;
        next(op.client);
    }

    // ---------------------------------------------------------------- the driver's answers

    private void writeDone(SimNode n, PendingOp op, Throwable error) {
        n.pending.remove(op);
        if (op.done) {
            return;
        }
        if (error == null) {
            op.done = true;
            acknowledge(op);
            leaderGuess[op.client] = n.id;
            next(op.client);
            return;
        }
        // LEADERSHIP_LOST: the driver does not know. This node's state may: the op applied here
        // (a snapshot covered it), or another entry took its index and ours can never commit.
        if (n.stateMachine.hasApplied(op.opId)) {
            op.done = true;
            acknowledge(op);
        } else if (n.stateMachine.appliedIndex() >= op.index) {
            op.done = true;
            history.remove(op.opId);
        } else {
            finishUnknown(op);
            return;
        }
        leaderGuess[op.client] = 0;
        next(op.client);
    }

    private void acknowledge(PendingOp op) {
        okWrites++;
        acknowledgedWrites.add(op.opId);
        history.put(op.opId, Operation.write(op.client, op.key, op.value, op.invoke, stamp()));
    }

    private void readDone(SimNode n, PendingOp op, Throwable error) {
        n.pending.remove(op);
        if (op.done) {
            return;
        }
        op.done = true;
        if (error != null) {
            rejected++;
            leaderGuess[op.client] = error instanceof RaftException re ? re.leaderHint() : 0;
            next(op.client);
            return;
        }
        okReads++;
        long value = n.stateMachine.get(op.key);
        history.put(op.opId, Operation.read(op.client, op.key, value, op.invoke, stamp()));
        leaderGuess[op.client] = n.core.role() == Role.LEADER ? n.id : n.core.leaderId();
        next(op.client);
    }

    /** The node crashed: everything waiting on it has an unknown outcome. */
    void onCrash(SimNode n) {
        List<PendingOp> all = new ArrayList<>(n.pending);
        n.pending.clear();
        all.sort((a, b) -> Long.compare(a.opId, b.opId)); // deterministic order
        for (PendingOp op : all) {
            if (!op.done) {
                finishUnknown(op);
            }
        }
    }
}
