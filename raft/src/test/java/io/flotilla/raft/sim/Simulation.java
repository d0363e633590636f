package io.flotilla.raft.sim;

import io.flotilla.checker.LinearizabilityChecker;
import io.flotilla.checker.Model;
import io.flotilla.raft.Entry;
import io.flotilla.raft.Failure;
import io.flotilla.raft.HardState;
import io.flotilla.raft.InvariantViolation;
import io.flotilla.raft.Message;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftCore;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Role;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.TestSeams;
import io.flotilla.raft.node.NodeTestSeams;
import io.flotilla.raft.node.RaftNode;
import io.flotilla.raft.node.RaftReplica;
import io.flotilla.raft.storage.ForwardingStorage;
import io.flotilla.raft.storage.MemoryStorage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A deterministic discrete-event simulation of one Raft group (after Kafka's
 * RaftEventSimulationTest and TigerBeetle's VOPR). One seed drives everything: the network (delay,
 * loss, duplication, reordering, partitions of every shape), crashes that lose unforced writes,
 * each node's election jitter and the client workload. There is no thread and no clock: the same
 * seed replays the same run event by event.
 *
 * <p>Safety invariants are checked after every event; liveness (every acknowledged write applied
 * everywhere) and linearizability of the client history are checked at the end.
 */
public final class Simulation {

    /** The outcome of one run; {@code failure} is null if every check passed. */
    public record Result(long seed, String failure, long events, long committed, long leaders, long okWrites,
                         long okReads, long unknownWrites, long crashes, long snapshots, long snapshotInstalls,
                         long confChanges, long diskCuts, long stalls, long quiescedAtEnd) {
        public boolean ok() {
            return failure == null;
        }
    }

    private record Event(long time, long seq, Runnable action) {}

    private static final long GROUP = 7;

    private final long seed;
    private final SimOptions options;
    private final SplittableRandom random;
    private final PriorityQueue<Event> queue = new PriorityQueue<>(
            (a, b) -> a.time != b.time ? Long.compare(a.time, b.time) : Long.compare(a.seq, b.seq));
    private long now;
    private long seq;
    private long events;
    private long crashes;
    private long snapshots;
    private long snapshotInstalls;
    private long diskCuts;
    private final List<SimNode> nodes = new ArrayList<>();
    private final Set<Long> voters = new HashSet<>();
    private final ClusterInvariants invariants = new ClusterInvariants();
    private final SimClients clients;
    private final SimNemesis nemesis;
    /** The operator changing the membership, if {@link SimOptions#membership}. */
    private final SimMembership membership;
    private long confChanges;
    private long stalls;
    // Network state, changed by the nemesis.
    final Set<Long> blockedLinks = new HashSet<>(); // from * 1000 + to
    double dropRate;
    private boolean faultsActive = true;
    // Flow-control limits vary by seed: tiny batches expose partial-replication interleavings.
    private final int maxSizePerMsg;
    private final int maxEntriesPerMsg;
    private final int maxInflight;
    /**
     * Each node snapshots its state machine and compacts its log every this many applied entries
     * (varies by seed; {@link Long#MAX_VALUE} = never), so lagging and restarted nodes must be
     * caught up with InstallSnapshot.
     */
    private final long snapshotEvery;

    private Simulation(long seed, SimOptions options) {
        this.seed = seed;
        this.options = options;
        this.random = new SplittableRandom(seed);
        this.dropRate = options.dropRate();
        this.maxSizePerMsg = random.nextBoolean() ? 64 * 1024 : 64;
        this.maxEntriesPerMsg = new int[] {1, 2, 8, 64}[random.nextInt(4)];
        this.maxInflight = new int[] {1, 2, 16}[random.nextInt(3)];
        this.snapshotEvery = options.snapshots() ? new long[] {5, 20, 50, Long.MAX_VALUE}[random.nextInt(4)] : Long.MAX_VALUE;
        for (long id = 1; id <= options.nodes(); id++) {
            voters.add(id);
        }
        for (long id = 1; id <= options.nodes(); id++) {
            nodes.add(new SimNode(id, voters));
        }
        this.clients = new SimClients(this, random.split(), options.clients());
        this.nemesis = new SimNemesis(this, random.split());
        this.membership = options.membership() ? new SimMembership(this, random.split()) : null;
    }

    /** Runs one seed; never throws for a protocol failure, returns it in the result. */
    public static Result run(long seed, SimOptions options) {
        return new Simulation(seed, options).run();
    }

    public static String replayCommand(long seed, String testClass) {
        return "./mvnw -B -pl raft test -Dtest=" + testClass + " -Dflotilla.seed=" + seed;
    }

    private Result run() {
        String failure = null;
        try {
            for (SimNode n : nodes) {
                restart(n);
            }
            clients.start();
            if (options.quiesce()) {
                schedule(LIVENESS_PROBE_MILLIS, this::probeLiveness);
            }
            nemesis.start(options.faultMillis());
            if (membership != null) {
                membership.start(options.faultMillis());
            }
            schedule(options.faultMillis(), this::healAll);
            long end = options.faultMillis() + options.healMillis();
            while (!queue.isEmpty() && queue.peek().time <= end) {
                Event e = queue.poll();
                now = e.time;
                events++;
                e.action.run();
                if (events % 64 == 0) {
                    invariants.periodic(nodes, minVoters());
                }
            }
            invariants.periodic(nodes, minVoters());
            checkLiveness();
            // Registers start at 0 here; no bound on the search, as a seed must always get a verdict.
            LinearizabilityChecker.Result lin = new LinearizabilityChecker(Long.MAX_VALUE)
                    .check(clients.history(), key -> new Model.Register(0L));
            if (!lin.valid()) {
                LinearizabilityChecker.KeyResult v = lin.failures().get(0);
                failure = "Linearizability: key " + v.key() + " history " + v.history();
            }
        } catch (ClusterInvariants.SafetyViolation | InvariantViolation | AssertionError e) {
            failure = e.getClass().getSimpleName() + ": " + e.getMessage();
        } catch (RuntimeException e) {
            // Anything else thrown by the core or the storage is a bug too: report it with the seed.
            StackTraceElement at = e.getStackTrace().length > 0 ? e.getStackTrace()[0] : null;
            failure = "Unexpected " + e.getClass().getSimpleName() + ": " + e.getMessage() + " at " + at;
        }
        long quiesced = nodes.stream().filter(n -> n.up() && n.core.isQuiesced()).count();
        return new Result(seed, failure, events, invariants.committed().size(), invariants.leadersSeen(),
                clients.okWrites, clients.okReads, clients.unknownWrites, crashes, snapshots, snapshotInstalls,
                confChanges, diskCuts, stalls, quiesced);
    }

    // ---------------------------------------------------------------- accessors for the helpers

    long now() {
        return now;
    }

    SimOptions options() {
        return options;
    }

    List<SimNode> nodes() {
        return nodes;
    }

    SimNode node(long id) {
        return nodes.get((int) id - 1);
    }

    /** The smallest voter set any configuration of this run may have. */
    private int minVoters() {
        return membership == null ? options.nodes() : SimMembership.MIN_VOTERS;
    }

    /** Starts a fresh node with an empty disk and no configuration; returns it. */
    SimNode addFreshNode() {
        SimNode n = new SimNode(nodes.size() + 1, Set.of());
        nodes.add(n);
        restart(n);
        return n;
    }

    void confChangeAccepted() {
        confChanges++;
    }

    boolean faultsActive() {
        return faultsActive;
    }

    void schedule(long delay, Runnable action) {
        queue.add(new Event(now + delay, seq++, action));
    }

    /** A node-bound event, skipped if the node crashed (or restarted) meanwhile. */
    private void scheduleOn(SimNode n, long delay, Runnable action) {
        int incarnation = n.incarnation;
        schedule(delay, () -> {
            if (n.up() && n.incarnation == incarnation) {
                action.run();
            }
        });
    }

    // ---------------------------------------------------------------- nodes

    void crash(SimNode n) {
        if (!n.up()) {
            return;
        }
        crashes++;
        n.storage.crash();
        if (options.diskFaultRate() > 0 && random.nextDouble() < options.diskFaultRate()) {
            loseLastForcedWrite(n); // drawn only then: seeds without disk faults replay as before
        }
        if (options.forgetVoteOnCrash()) {
            // BUG INJECTION: a hard-state store that does not persist votedFor.
            HardState hs = n.storage.hardState();
            n.storage.setHardState(new HardState(hs.term(), 0, hs.commitIndex(), hs.fence()));
            n.storage.sync();
        }
        n.replica = null;
        n.core = null;
        n.stateMachine = null;
        n.incarnation++;
        n.stalled = false; // a stalled process that dies loses its inbox
        n.stalledInputs = new ArrayList<>();
        clients.onCrash(n);
    }

    void restart(SimNode n) {
        if (n.up()) {
            return;
        }
        // The state machine is in memory: rebuild it from the durable snapshot, then from the log.
        SimRegisters sm = new SimRegisters();
        Snapshot snapshot = n.storage.snapshot();
        if (!snapshot.isEmpty() && !options.forgetSnapshotOnRestart()) {
            sm.restore(snapshot.data());
        }
        if (!snapshot.isEmpty() && options.forgetSnapshotOnRestart()) {
            // BUG INJECTION: a driver that forgets to restore the snapshot (the state machine
            // starts empty but claims to have applied everything the snapshot covers).
            sm.restore(new SimRegisters().serializeAt(snapshot.index()));
        }
        RaftConfig cfg = RaftConfig.of(GROUP, n.id, n.bootstrap, random.split())
                .withElection(options.preVote(), options.checkQuorum())
                .withLimits(maxSizePerMsg, maxEntriesPerMsg, maxInflight)
                .withApplied(snapshot.index());
        if (options.leaseRead()) {
            cfg = cfg.withLeaseRead(2);
        }
        if (options.quiesce()) {
            cfg = cfg.withQuiesce(true);
        }
        n.tickPeriod = options.tickMillis();
        if (options.clockSkewMillis() > 0) { // drawn only then: lockstep seeds replay as before
            n.tickPeriod += random.nextLong(-options.clockSkewMillis(), options.clockSkewMillis() + 1);
        }
        n.stateMachine = sm;
        // The production driver, on simulated time: a tick of this node lasts its tick period,
        // so clocks at different rates are nodes with different tick lengths.
        int incarnation = n.incarnation;
        n.replica = new RaftReplica(cfg, new SimStorage(n.storage), this::send,
                new SimStateMachine(n, invariants, () -> {
                    snapshotInstalls++;
                }, () -> snapshots++),
                n.tickPeriod, new RaftNode.SnapshotPolicy(snapshotEvery == Long.MAX_VALUE ? 0 : snapshotEvery, 0),
                () -> now * 1_000_000L, action -> {
                    if (n.incarnation == incarnation) {
                        input(n, action);
                    }
                });
        n.core = n.replica.core();
        if (options.commitOlderTerms()) {
            TestSeams.commitOlderTerms(n.core);
        }
        n.lastCommitSeen = n.core.commitIndex();
        n.checkedCommit = 0; // re-verify the restored committed prefix
        invariants.afterStep(n);
        // The clock starts at a random phase; the timer wakes the node every tick period after.
        scheduleOn(n, 1 + random.nextLong(options.tickMillis()), () -> {
            n.replica.start();
            tickLoop(n);
        });
    }

    /** The scheduler's timer: wakes the node every tick period; its round feeds the due ticks. */
    private void tickLoop(SimNode n) {
        input(n, WAKE);
        scheduleOn(n, n.tickPeriod, () -> tickLoop(n));
    }

    private static final Runnable WAKE = () -> { };

    /**
     * An input to a node (a message, a client request, an operator's request): handled now, after
     * the ticks its clock says are due (as RaftScheduler runs every input), or, while the node's
     * loop is stalled, queued until it resumes.
     */
    void input(SimNode n, Runnable action) {
        if (!n.up()) {
            return;
        }
        if (n.stalled) {
            n.stalledInputs.add(action);
        } else {
            n.replica.catchUpTicks();
            action.run();
            afterInput(n);
        }
    }

    boolean stalled(SimNode n) {
        return n.stalled;
    }

    /** Holds the node's Raft loop for {@code millis} (SimOptions.stalls). */
    void stall(SimNode n, long millis) {
        if (!n.up() || n.stalled) {
            return;
        }
        n.stalled = true;
        stalls++;
        scheduleOn(n, millis, () -> resume(n));
    }

    /**
     * The loop resumes as RaftScheduler runs it: each queued input in arrival order, the ticks
     * missed meanwhile first (at most two election timeouts of them, the driver's cap). With the
     * injected bug, the old order: the inputs against the stopped clock, the ticks after them, so
     * that queued reads meet a stale lease.
     */
    private void resume(SimNode n) {
        n.stalled = false;
        List<Runnable> queued = n.stalledInputs;
        n.stalledInputs = new ArrayList<>();
        int incarnation = n.incarnation;
        boolean bug = options.stallResumeInputsFirst();
        if (bug) {
            NodeTestSeams.holdTicks(n.replica, true);
        }
        for (Runnable action : queued) {
            if (!n.up() || n.incarnation != incarnation) {
                return; // crashed while catching up: the rest of the inbox is lost with it
            }
            input(n, action);
        }
        if (bug && n.up() && n.incarnation == incarnation) {
            NodeTestSeams.holdTicks(n.replica, false);
            input(n, WAKE);
        }
    }

    /**
     * After any input: the replica handles its Readies one by one, as in production, with the
     * invariants checked before and after each, and crashes injected after a Ready or between a
     * Ready's write and its force ({@link SimStorage}).
     */
    void afterInput(SimNode n) {
        if (!n.up()) {
            return;
        }
        try {
            n.replica.askPendingReads();
            while (n.up() && n.replica.hasReady()) {
                invariants.afterStep(n); // records new commits before they are applied
                n.replica.handleReady();
                invariants.afterStep(n);
                if (faultsActive && random.nextDouble() < options.crashAfterReadyRate()) {
                    crash(n);
                    scheduleRestart(n);
                    return;
                }
            }
        } catch (PowerLoss e) {
            crash(n); // between write and fsync: the unforced writes are lost
            scheduleRestart(n);
        }
    }

    /** Thrown by {@link SimStorage#sync} to cut the power between a Ready's write and its force. */
    private static final class PowerLoss extends RuntimeException {
        private static final long serialVersionUID = 1L;

        PowerLoss() {
            super("power loss before the force", null, false, false);
        }
    }

    /** The node's durable storage as the replica sees it: a force may not happen (power loss). */
    private final class SimStorage extends ForwardingStorage {
        SimStorage(MemoryStorage storage) {
            super(storage);
        }

        @Override
        public void sync() {
            if (faultsActive && random.nextDouble() < options.crashDuringWriteRate()) {
                throw new PowerLoss();
            }
            super.sync();
        }
    }

    /**
     * A disk fault found at restart (docs/wal.md, "Cuts that may lose forced entries"): the crashed
     * node's recovery cuts the entries of its last forced write that lie above its durable commit
     * (forced, maybe acknowledged, maybe committed by the leader), and saves the recovery fence
     * unless {@link SimOptions#forgetRecoveryFence}. Skipped when it would fence a majority: a
     * cluster whose majority is fenced waits for an operator by design (docs/raft.md).
     */
    private void loseLastForcedWrite(SimNode n) {
        long fenced = nodes.stream().filter(o -> o != n && o.storage.durableHardState().fence().isUp()).count();
        if (fenced + 1 > (minVoters() - 1) / 2) {
            return;
        }
        var s = n.storage;
        long last = s.durableSnapshot().index() + s.durableEntries().size();
        long from = Math.max(s.lastForcedFrom(), Math.max(s.durableHardState().commitIndex(), s.durableSnapshot().index()) + 1);
        if (from <= last) {
            s.loseForcedSuffix(from, !options.forgetRecoveryFence());
            diskCuts++;
        }
    }

    void scheduleRestart(SimNode n) {
        // Half the restarts are quick, so a node can come back within one election.
        long delay = random.nextBoolean() ? 1 + random.nextLong(30) : 30 + random.nextLong(400);
        schedule(delay, () -> restart(n));
    }

    // ---------------------------------------------------------------- network

    /** How often the simulated transport tells each node which peers it cannot reach. */
    private static final long LIVENESS_PROBE_MILLIS = 100;

    /**
     * The transport's liveness, as PeerLink reports a link that went silent for about an election
     * timeout: a node hears of every peer that is down or cut off from it in either direction, so
     * that followers quiesced under a lost leader wake (SimOptions.quiesce).
     */
    private void probeLiveness() {
        for (SimNode a : nodes) {
            for (SimNode b : nodes) {
                if (a == b || !a.up()) {
                    continue;
                }
                long peer = b.id;
                boolean lost = !b.up() || blockedLinks.contains(a.id * 1000 + b.id)
                        || blockedLinks.contains(b.id * 1000 + a.id);
                if (lost) {
                    unreachableSeen.add(a.id * 1000 + b.id);
                    input(a, () -> a.replica.peerUnreachable(peer));
                } else if (unreachableSeen.remove(a.id * 1000 + b.id)) {
                    input(a, () -> a.replica.peerReachable(peer)); // the link is back
                }
            }
        }
        schedule(LIVENESS_PROBE_MILLIS, this::probeLiveness);
    }

    /** Pairs (a * 1000 + b) for which a was last told that b is unreachable. */
    private final Set<Long> unreachableSeen = new HashSet<>();

    /** The replicas' transport: the network as the nemesis left it. */
    private void send(Message m) {
        if (blockedLinks.contains(m.from() * 1000 + m.to()) || random.nextDouble() < dropRate) {
            return;
        }
        deliverLater(m);
        if (random.nextDouble() < options.duplicateRate()) {
            deliverLater(m);
        }
    }

    private void deliverLater(Message m) {
        long delay = 1 + random.nextLong(options.maxDelayMillis());
        if (faultsActive && random.nextDouble() < options.stragglerRate()) {
            delay += random.nextLong(200); // a straggler: reordered far behind its successors
        }
        // Delivered to whatever incarnation is up on arrival: a message may outlive a crash.
        SimNode to = node(m.to());
        schedule(delay, () -> {
            if (to.up()) {
                input(to, () -> CheckedStep.step(to.replica, m));
            }
        });
    }

    /** End of the fault phase: heal the network, restart everyone, stop the clients. */
    private void healAll() {
        faultsActive = false;
        blockedLinks.clear();
        dropRate = 0;
        clients.stop();
        for (SimNode n : nodes) {
            restart(n);
        }
    }

    // ---------------------------------------------------------------- final checks

    private String describeNodes() {
        StringBuilder sb = new StringBuilder();
        for (SimNode n : nodes) {
            sb.append(n.core).append(' ');
        }
        return sb.toString();
    }

    private void checkLiveness() {
        SimNode leader = null;
        for (SimNode n : nodes) {
            if (n.core.role() == Role.LEADER && (leader == null || n.core.term() > leader.core.term())) {
                leader = n;
            }
        }
        if (leader == null) {
            throw new AssertionError("Liveness: no leader " + options.healMillis() + "ms after healing: " + describeNodes());
        }
        long commit = leader.core.commitIndex();
        for (SimNode n : nodes) {
            if (!leader.core.configuration().isMember(n.id)) {
                continue; // removed, or never added: it owes nothing
            }
            if (n.stateMachine.appliedIndex() != commit) {
                throw new AssertionError("Liveness: node " + n.id + " applied " + n.stateMachine.appliedIndex()
                        + " but leader " + leader.id + " committed " + commit + " (" + n.core + ")");
            }
            if (n.storage.durableHardState().fence().isUp()) {
                throw new AssertionError("Liveness: node " + n.id + " is still behind its recovery fence "
                        + n.storage.durableHardState().fence() + " (" + n.core + ")");
            }
            if (!n.stateMachine.snapshot().equals(leader.stateMachine.snapshot())) {
                throw new AssertionError("StateMachineSafety: node " + n.id + " state differs from leader");
            }
            for (long opId : clients.acknowledgedWrites()) {
                if (!n.stateMachine.hasApplied(opId)) {
                    throw new AssertionError("Durability: acknowledged write " + opId + " missing on node " + n.id);
                }
            }
        }
    }
}
