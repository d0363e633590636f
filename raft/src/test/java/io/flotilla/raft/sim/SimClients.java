package io.flotilla.raft.sim;

import io.flotilla.checker.Operation;
import io.flotilla.raft.Entry;
import io.flotilla.raft.Failure;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.ReadResult;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Rejected;
import io.flotilla.raft.Role;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The client workload: a few closed-loop clients writing unique values to and reading a handful
 * of keys, through whichever node they believe leads (sometimes a random node, to exercise
 * NOT_LEADER and follower reads). Every operation is recorded for the linearizability checker.
 *
 * <p>Outcomes: a write is OK when its entry (index, term) is applied on the node it was proposed
 * to; it definitely failed if another term's entry is applied at that index (dropped from the
 * history); it is UNKNOWN after LEADERSHIP_LOST, a crash or a timeout. A read is OK once its node
 * applied up to the read index; any failure drops it (reads have no effect).
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
        long term;
        long readIndex;
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
        if (sim.stalled(n)) {
            // The request waits in the stalled node's inbox; the client's timer runs from now. A
            // write the client gives up on may still be proposed when the node resumes: until its
            // outcome is known it is in the history without a response.
            if (write) {
                history.put(opId, Operation.write(client, key, op.value, now, Long.MAX_VALUE));
            }
            armTimeout(n, op);
            sim.input(n, () -> submit(n, op, true));
            return;
        }
        submit(n, op, false);
        sim.afterInput(n);
    }

    /** Hands the request to the node's core; {@code queued}: it waited out a stall, its timer runs. */
    private void submit(SimNode n, PendingOp op, boolean queued) {
        if (op.write) {
            ProposeResult r = n.core.propose(KvStateMachine.encodePut(op.opId, op.key, op.value));
            if (r instanceof Rejected rej) {
                history.remove(op.opId); // never in the log: no effect
                if (!op.done) {
                    op.done = true;
                    rejected++;
                    leaderGuess[op.client] = rej.leaderHint();
                    next(op.client);
                }
            } else {
                ProposeResult.Accepted acc = (ProposeResult.Accepted) r;
                op.index = acc.index();
                op.term = acc.term();
                if (op.done) {
                    return; // the client gave up: the outcome stays unknown in the history
                }
                n.writesByIndex.put(op.index, op);
                history.put(op.opId, Operation.write(op.client, op.key, op.value, op.invoke, Long.MAX_VALUE));
                if (!queued) {
                    armTimeout(n, op);
                }
            }
        } else {
            if (op.done) {
                return; // the client gave up; a read has no effect
            }
            ReadResult r = n.core.readIndex(op.opId);
            if (r instanceof Rejected rej) {
                op.done = true;
                rejected++;
                leaderGuess[op.client] = rej.leaderHint();
                next(op.client);
            } else {
                n.readsById.put(op.opId, op);
                if (!queued) {
                    armTimeout(n, op);
                }
            }
        }
    }

    private void armTimeout(SimNode n, PendingOp op) {
        sim.schedule(TIMEOUT_MILLIS, () -> {
            if (!op.done) {
                n.writesByIndex.remove(op.index);
                n.readsById.remove(op.opId);
                n.readsAwaitingApply.remove(op);
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

    // ---------------------------------------------------------------- callbacks from the node's Ready

    void onApplied(SimNode n, Entry e) {
        PendingOp op = n.writesByIndex.remove(e.index());
        if (op == null || op.done) {
            return;
        }
        op.done = true;
        if (e.term() == op.term) {
            okWrites++;
            acknowledgedWrites.add(op.opId);
            history.put(op.opId, Operation.write(op.client, op.key, op.value, op.invoke, stamp()));
            leaderGuess[op.client] = n.id;
        } else {
            history.remove(op.opId); // another entry won the index: ours can never commit
            leaderGuess[op.client] = 0;
        }
        next(op.client);
    }

    /**
     * The node installed a snapshot: writes waiting on an index it covers are resolved from the
     * restored state (the op was applied, or another entry took its index and it never will be).
     */
    void onSnapshotInstalled(SimNode n) {
        List<Long> covered = new ArrayList<>();
        for (Long index : n.writesByIndex.keySet()) {
            if (index <= n.stateMachine.appliedIndex()) {
                covered.add(index);
            }
        }
        covered.sort(null); // deterministic order
        for (long index : covered) {
            PendingOp op = n.writesByIndex.remove(index);
            if (op.done) {
                continue;
            }
            op.done = true;
            if (n.stateMachine.hasApplied(op.opId)) {
                okWrites++;
                acknowledgedWrites.add(op.opId);
                history.put(op.opId, Operation.write(op.client, op.key, op.value, op.invoke, stamp()));
            } else {
                history.remove(op.opId);
            }
            leaderGuess[op.client] = 0;
            next(op.client);
        }
    }

    void onReadState(SimNode n, ReadState rs) {
        PendingOp op = n.readsById.remove(rs.requestId());
        if (op == null || op.done) {
            return;
        }
        op.readIndex = rs.readIndex();
        n.readsAwaitingApply.add(op);
    }

    void onFailure(SimNode n, Failure f) {
        PendingOp op = f.kind() == Failure.Kind.PROPOSAL ? n.writesByIndex.remove(f.id()) : n.readsById.remove(f.id());
        if (op != null && !op.done) {
            finishUnknown(op);
        }
    }

    /** Serves the reads whose read index the state machine has reached. */
    void serveReads(SimNode n) {
        if (n.readsAwaitingApply.isEmpty()) {
            return;
        }
        var it = n.readsAwaitingApply.iterator();
        while (it.hasNext()) {
            PendingOp op = it.next();
            if (op.readIndex <= n.stateMachine.appliedIndex()) {
                it.remove();
                op.done = true;
                okReads++;
                long value = n.stateMachine.get(op.key);
                history.put(op.opId, Operation.read(op.client, op.key, value, op.invoke, stamp()));
                leaderGuess[op.client] = n.core.role() == Role.LEADER ? n.id : n.core.leaderId();
                next(op.client);
            }
        }
    }

    /** The node crashed: everything waiting on it has an unknown outcome. */
    void onCrash(SimNode n) {
        List<PendingOp> all = new ArrayList<>(n.writesByIndex.values());
        all.addAll(n.readsById.values());
        all.addAll(n.readsAwaitingApply);
        n.writesByIndex.clear();
        n.readsById.clear();
        n.readsAwaitingApply.clear();
        all.sort((a, b) -> Long.compare(a.opId, b.opId)); // deterministic order
        for (PendingOp op : all) {
            if (!op.done) {
                finishUnknown(op);
            }
        }
    }
}
