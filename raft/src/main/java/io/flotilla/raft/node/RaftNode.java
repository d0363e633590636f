package io.flotilla.raft.node;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeResult;
import io.flotilla.raft.ConfEntry;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.Failure;
import io.flotilla.raft.Message;
import io.flotilla.raft.InvariantViolation;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftError;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftCore;
import io.flotilla.raft.ReadResult;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Rejected;
import io.flotilla.raft.Role;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.storage.RaftStorage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The thread-safe handle of one Raft group on this node: a {@link RaftReplica} (which owns the
 * core and handles every Ready) driven by a {@link RaftScheduler}. Public methods may be called
 * from any thread; they queue inputs for the replica's next round and complete futures from it.
 *
 * <p>A node hosting many groups shares one scheduler between them
 * ({@link #RaftNode(RaftScheduler, RaftConfig, RaftStorage, Transport, StateMachine, long, SnapshotPolicy)});
 * a node built without one gets a private scheduler with one worker thread and its own timer.
 *
 * <p>Snapshots: when {@link SnapshotPolicy} says so, the replica asks the state machine for a
 * snapshot ({@link StateMachine#takeSnapshot}, which may finish on another thread), then records
 * it in storage, which compacts the log below it. A snapshot from the leader is installed into
 * storage (in the same force as the Ready's entries) and then into the state machine before
 * anything after it is applied. At start, a state machine behind the storage's snapshot is
 * restored from it.
 */
public final class RaftNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RaftNode.class);

    /** When to snapshot: every {@code entries} applied entries or {@code bytes} applied payload bytes (0 = never). */
    public record SnapshotPolicy(long entries, long bytes) {
        public static final SnapshotPolicy NEVER = new SnapshotPolicy(0, 0);

        public SnapshotPolicy {
            if (entries < 0 || bytes < 0) {
                throw new IllegalArgumentException("snapshot thresholds must be >= 0: " + entries + ", " + bytes);
            }
        }

        boolean enabled() {
            return entries > 0 || bytes > 0;
        }
    }

    /**
     * Observes the driver, for metrics. Called on the loop thread: must be cheap and never block
     * (record into a histogram, bump a counter). The raft module has no metrics library; the
     * server binds this to Micrometer.
     */
    public interface Listener {
        Listener NONE = new Listener() {};

        /** One Ready's persist (entries and/or hard state, with its force). */
        default void persisted(int entries, long nanos) {}

        /** One apply batch. */
        default void applied(int entries, long nanos) {}

        /** A proposal made on this node applied: the time since {@link #propose}. */
        default void proposalApplied(long nanos) {}

        /** A proposal was accepted by this node's core (it leads). */
        default void proposed() {}

        /**
         * A proposal made on this node is known committed: the time since {@link #propose} until
         * the Ready that carries it as committed is handled (the commit is learned in that round).
         */
        default void proposalCommitted(long nanos) {}

        /** Committed entries of one Ready, and the time from taking that Ready to their apply done. */
        default void committedApplied(int entries, long nanos) {}

        /** A linearizable read became servable: the time since {@link #linearizableRead}. */
        default void readReady(long nanos) {}

        /** One ReadIndex asked of the core (a round on a leader, a request on a follower) for this many reads. */
        default void readIndexAsked(int reads) {}

        /** The role, term or leader changed. */
        default void roleChanged(Role role, long term, long leaderId) {}

        default void snapshotTaken(long index, long bytes, long nanos) {}

        default void snapshotInstalled(long index, long bytes, long nanos) {}
    }

    /** What the node knows about itself and, when leader, its followers. */
    /**
     * What the node knows about itself and, when leader, its followers. {@code configuration} is
     * the membership in effect here (voters, learners, joint or not; empty on a joining node that
     * has not learned one yet); {@code matchIndex} covers voters and learners.
     */
    public record Status(long id, Role role, long term, long leaderId, long commitIndex, long appliedIndex,
                         long lastIndex, long snapshotIndex, Map<Long, Long> matchIndex,
                         long snapshotsTaken, long snapshotsInstalled, Configuration configuration,
                         Set<Long> recentlyActive) {

        /**
         * Without the peers heard from: {@code recentlyActive} (on a leader, the peers that sent
         * it anything since its last check-quorum round, about an election timeout; empty
         * elsewhere) matters to whoever picks a peer to hand leadership to or to promote: a
         * peer's match index alone says nothing of whether it is still there.
         */
        public Status(long id, Role role, long term, long leaderId, long commitIndex, long appliedIndex,
                      long lastIndex, long snapshotIndex, Map<Long, Long> matchIndex,
                      long snapshotsTaken, long snapshotsInstalled, Configuration configuration) {
            this(id, role, term, leaderId, commitIndex, appliedIndex, lastIndex, snapshotIndex, matchIndex,
                    snapshotsTaken, snapshotsInstalled, configuration, Set.of());
        }

        /** Without a configuration (the shape before membership changes). */
        public Status(long id, Role role, long term, long leaderId, long commitIndex, long appliedIndex,
                      long lastIndex, long snapshotIndex, Map<Long, Long> matchIndex,
                      long snapshotsTaken, long snapshotsInstalled) {
            this(id, role, term, leaderId, commitIndex, appliedIndex, lastIndex, snapshotIndex, matchIndex,
                    snapshotsTaken, snapshotsInstalled, Configuration.EMPTY);
        }
    }

    private final long id;
    private final RaftReplica replica;
    private final RaftScheduler.Slot slot;
    /** The scheduler this node made for itself and closes with itself, or null when shared. */
    private final RaftScheduler ownScheduler;

    public RaftNode(RaftConfig config, RaftStorage storage, Transport transport, StateMachine stateMachine,
                    long tickMillis) {
        this(config, storage, transport, stateMachine, tickMillis, SnapshotPolicy.NEVER);
    }

    /** @param snapshotEvery compact the log every this many applied entries; 0 = never */
    public RaftNode(RaftConfig config, RaftStorage storage, Transport transport, StateMachine stateMachine,
                    long tickMillis, long snapshotEvery) {
        this(config, storage, transport, stateMachine, tickMillis, new SnapshotPolicy(snapshotEvery, 0));
    }

    public RaftNode(RaftConfig config, RaftStorage storage, Transport transport, StateMachine stateMachine,
                    long tickMillis, SnapshotPolicy snapshotPolicy) {
        this(config, storage, transport, stateMachine, tickMillis, snapshotPolicy, System::nanoTime);
    }

    /** A group driven by {@code scheduler}, shared with the node's other groups. */
    public RaftNode(RaftScheduler scheduler, RaftConfig config, RaftStorage storage, Transport transport,
                    StateMachine stateMachine, long tickMillis, SnapshotPolicy snapshotPolicy) {
        this(scheduler, null, config, storage, transport, stateMachine, tickMillis, snapshotPolicy, System::nanoTime);
    }

    /**
     * @param clock a monotonic clock in nanoseconds (System::nanoTime; tests pass their own, so
     *     that time moves only when they say)
     */
    RaftNode(RaftConfig config, RaftStorage storage, Transport transport, StateMachine stateMachine,
             long tickMillis, SnapshotPolicy snapshotPolicy, LongSupplier clock) {
        this(null, privateScheduler(config, tickMillis), config, storage, transport, stateMachine, tickMillis,
                snapshotPolicy, clock);
    }

    private RaftNode(RaftScheduler shared, RaftScheduler own, RaftConfig config, RaftStorage storage,
                     Transport transport, StateMachine stateMachine, long tickMillis, SnapshotPolicy snapshotPolicy,
                     LongSupplier clock) {
        this.id = config.nodeId();
        this.ownScheduler = own;
        RaftScheduler.Slot[] slotRef = new RaftScheduler.Slot[1];
        RaftReplica r;
        try {
            r = new RaftReplica(config, storage, transport, stateMachine, tickMillis, snapshotPolicy, clock,
                    input -> slotRef[0].submit(input, null));
        } catch (RuntimeException | Error e) {
            if (own != null) {
                own.close();
            }
            throw e;
        }
        this.replica = r;
        this.slot = (shared != null ? shared : own).register(replica);
        slotRef[0] = slot;
    }

    private static RaftScheduler privateScheduler(RaftConfig config, long tickMillis) {
        if (tickMillis <= 0) {
            throw new IllegalArgumentException("tickMillis must be positive: " + tickMillis);
        }
        String name = config.groupId() + "-" + config.nodeId();
        return new RaftScheduler(1, tickMillis, i -> "raft-node-" + name, "raft-timer-" + name);
    }

    public long id() {
        return id;
    }

    /** Sets the metrics listener; call before {@link #start}. */
    public void setListener(Listener listener) {
        submit(() -> replica.setListener(java.util.Objects.requireNonNull(listener)));
    }

    /** Starts the group's clock: ticks count from now. */
    public void start() {
        replica.start();
    }

    public boolean isLeader() {
        return replica.role() == Role.LEADER;
    }

    public Role role() {
        return replica.role();
    }

    public long leaderId() {
        return replica.leaderId();
    }

    public long term() {
        return replica.term();
    }

    public long appliedIndex() {
        return replica.appliedIndex();
    }

    /** The commit index as of the last round. */
    public long commitIndex() {
        return replica.commitIndex();
    }

    /** Whether a broken invariant or a storage failure (or close) stopped this node. */
    public boolean isStopped() {
        return replica.isStopped();
    }

    /** A message from a peer. */
    public void deliver(Message m) {
        deliver(m, reason -> log.debug("node {}: dropped {} from {}: {}", id, m.getClass().getSimpleName(),
                m.from(), reason));
    }

    /**
     * A message from a peer; {@code dropped} hears, on the replica's thread, if the core found it
     * invalid against its state ({@link io.flotilla.raft.DropReason}): it must be cheap and never block.
     */
    public void deliver(Message m, java.util.function.Consumer<io.flotilla.raft.DropReason> dropped) {
        submit(() -> replica.step(m, dropped));
    }

    /**
     * Driver feedback: the node of {@code peer} is unreachable (its link went silent or down); a
     * follower quiesced under it wakes, so that an election can replace a leader that may be gone.
     */
    public void reportUnreachable(long peer) {
        submit(() -> replica.peerUnreachable(peer));
    }

    /** Driver feedback: the node of {@code peer} is reachable again (a leader quiesced without it wakes). */
    public void reportReachable(long peer) {
        submit(() -> replica.peerReachable(peer));
    }

    /**
     * Starts an election now, as if the election timeout had elapsed (a group just made by a
     * split, on the node that led the range it came from, so that it has a leader at once).
     */
    public void campaign() {
        submit(replica::campaign);
    }

    /**
     * Takes a snapshot (and compacts the log below it) as soon as one can be taken, whatever the
     * policy's thresholds: a node's shared log asks this of a group whose old records keep a
     * segment from being freed (docs/wal.md, "Reclaiming segments"). Without a snapshot policy,
     * nothing.
     */
    public void requestSnapshot() {
        submit(replica::requestSnapshot);
    }

    /** Whether the group is quiesced (as of the last round). */
    public boolean isQuiesced() {
        return replica.isQuiesced();
    }

    /**
     * Driver feedback: an InstallSnapshot for {@code peer} could not be sent; the leader retries
     * at once instead of after its snapshot timeout.
     */
    public void reportSnapshotFailure(long peer) {
        submit(() -> replica.reportSnapshotFailure(peer));
    }

    /** Completes with the entry's index once it is applied here; exceptionally with {@link RaftException}. */
    public CompletableFuture<Long> propose(byte[] command) {
        CompletableFuture<Long> f = new CompletableFuture<>();
        long start = replica.nanos();
        submit(() -> replica.propose(command, start, f), f);
        return f;
    }

    /**
     * Proposes a membership change on this node (it must lead). Completes with the resulting
     * configuration once the change is applied here and final: for a change of voters, once the
     * joint configuration it entered was left. Fails with {@link ConfChangeException} if refused
     * (typed; {@code CHANGE_PENDING} is retryable), or {@link RaftException} LEADERSHIP_LOST if the
     * leader changed before the change applied (outcome unknown: check {@link #status()}).
     */
    public CompletableFuture<Configuration> proposeConfChange(ConfChange change) {
        CompletableFuture<Configuration> f = new CompletableFuture<>();
        submit(() -> replica.proposeConfChange(change, f), f);
        return f;
    }

    /** The configuration in effect as of the last round. */
    public Configuration configuration() {
        return replica.configuration();
    }

    /**
     * Completes with a read index once this node has applied it: a linearizable read may then be
     * served from the local state machine.
     */
    public CompletableFuture<Long> linearizableRead() {
        CompletableFuture<Long> f = new CompletableFuture<>();
        long start = replica.nanos();
        submit(() -> replica.read(start, f), f);
        return f;
    }

    /**
     * Asks the leader to hand leadership to {@code target} (§3.10). Completes once the request is
     * accepted (not when the transfer is done: watch {@link #leaderId()}); exceptionally with
     * {@link RaftException} NOT_LEADER when this node does not lead.
     */
    public CompletableFuture<Void> transferLeadership(long target) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        submit(() -> replica.transferLeadership(target, f), f);
        return f;
    }

    /** Longest stall {@link #stallForTesting} accepts: a typo must not freeze a node for good. */
    static final long MAX_TEST_STALL_MILLIS = TimeUnit.HOURS.toMillis(1);

    /**
     * TEST ONLY — fault injection for tests and the chaos tool's "stall" fault; nothing in a
     * production path calls it. Queues an input that holds this node's worker thread for
     * {@code millis} of its clock, as a slow force or a long apply batch would: messages, requests
     * and reads pile up in the inbox and ticks are missed, then the replica resumes as after any
     * stall. With a shared scheduler the worker's other groups wait too, as they would behind a
     * slow force. Completes when the stall ends (or the node closes).
     */
    public CompletableFuture<Void> stallForTesting(long millis) {
        if (millis < 0 || millis > MAX_TEST_STALL_MILLIS) {
            throw new IllegalArgumentException("stall must be within [0, " + MAX_TEST_STALL_MILLIS + "] ms: " + millis);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        submit(() -> {
            long until = replica.nanos() + TimeUnit.MILLISECONDS.toNanos(millis);
            for (long left; (left = until - replica.nanos()) > 0 && !replica.isStopped(); ) {
                // Short parks: the clock may be a test's, which no park can wait for.
                java.util.concurrent.locks.LockSupport.parkNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(1)));
            }
            log.warn("node {}: test stall of {} ms over", id, millis);
            f.complete(null);
        }, f);
        return f;
    }

    /** A consistent view of the node, taken on its thread. */
    public CompletableFuture<Status> status() {
        CompletableFuture<Status> f = new CompletableFuture<>();
        submit(() -> f.complete(replica.status()), f);
        return f;
    }

    private void submit(Runnable input) {
        slot.submit(input, null);
    }

    private void submit(Runnable input, CompletableFuture<?> owner) {
        slot.submit(input, owner);
    }

    /** How long {@link #close()} waits for the round in progress (a force, an apply batch) to end. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    /**
     * Stops the node and waits up to {@link #CLOSE_WAIT} for the round in progress to finish, so
     * that nothing is persisted or applied once this returns: the caller closes the log and the
     * state machine next, and a round still running would write the hard-state file behind their
     * back (a reopen in the same process could then read a stale term or vote).
     */
    @Override
    public void close() {
        close(CLOSE_WAIT);
    }

    /** As {@link #close()}, waiting at most {@code wait}; whether the round in progress finished. */
    boolean close(Duration wait) {
        // Never an interrupt: the worker may be inside a WAL write (Wal.appendDurably), and an
        // interrupt during file I/O closes the file and fails the log.
        boolean finished = slot.close(wait);
        if (ownScheduler != null) {
            ownScheduler.shutdown(); // its worker leaves once the round in progress, if any, returns
        }
        return finished;
    }
}
