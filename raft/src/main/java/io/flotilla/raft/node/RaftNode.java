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
 * A driver for one Raft group: one event-loop thread owns the {@link RaftCore}, ticks it on a
 * timer, and handles every Ready by the contract (persist with one force, send, apply, advance).
 * Public methods may be called from any thread; they enqueue work on the loop.
 *
 * <p>Batching (etcd's raft node loop): inputs queue in an inbox; each loop round steps the core
 * with everything queued (up to {@value #MAX_INPUTS_PER_ROUND} inputs), then handles one Ready.
 * While the loop waits for a force, new proposals and acknowledgements pile up and go into the
 * next round together: one force and one apply batch per round, however many clients write.
 *
 * <p>Snapshots: when {@link SnapshotPolicy} says so, the node asks the state machine for a
 * snapshot ({@link StateMachine#takeSnapshot}, which may finish off the loop), then records it in
 * storage, which compacts the log below it. A snapshot from the leader is installed into storage
 * (in the same force as the Ready's entries) and then into the state machine before anything after
 * it is applied. At start, a state machine behind the storage's snapshot is restored from it.
 */
public final class RaftNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RaftNode.class);

    /** Bounds one round so that a flood of inputs cannot postpone a force indefinitely. */
    static final int MAX_INPUTS_PER_ROUND = 4096;

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
                         long snapshotsTaken, long snapshotsInstalled, Configuration configuration) {

        /** Without a configuration (the shape before membership changes). */
        public Status(long id, Role role, long term, long leaderId, long commitIndex, long appliedIndex,
                      long lastIndex, long snapshotIndex, Map<Long, Long> matchIndex,
                      long snapshotsTaken, long snapshotsInstalled) {
            this(id, role, term, leaderId, commitIndex, appliedIndex, lastIndex, snapshotIndex, matchIndex,
                    snapshotsTaken, snapshotsInstalled, Configuration.EMPTY);
        }
    }

    private final long id;
    private final RaftCore core;
    private final RaftStorage storage;
    private final Transport transport;
    private final StateMachine stateMachine;
    private final ScheduledExecutorService loop;
    /** The loop's thread (close() must not wait for itself). */
    private volatile Thread loopThread;
    private final long tickMillis;
    /**
     * Ticks on a monotonic clock (System::nanoTime, or a test's own). After a stall at most two
     * election timeouts of owed ticks are fed: enough for every lease and every election timer to
     * run out, as they would have in real time, without a burst of redundant heartbeats.
     */
    private final TickClock clock;
    private final int electionTick;
    private final SnapshotPolicy snapshotPolicy;
    private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private volatile Listener listener = Listener.NONE;

    // Loop-confined bookkeeping.
    private final Map<Long, PendingWrite> writesByIndex = new HashMap<>();
    /**
     * Reads share ReadIndex rounds (after etcd's linearizableReadLoop): at most one request is in
     * flight; reads that arrive meanwhile queue and share the next one. Each read's index is thus
     * asked for after the read began, which is all linearizability needs, and a follower sends one
     * ReadIndexRequest to the leader per round trip however many reads it serves.
     */
    private final Map<Long, List<PendingReadIndex>> readsById = new HashMap<>();
    private List<PendingReadIndex> queuedReads = new ArrayList<>();
    private long readInFlight;
    private long readInFlightSinceTick;
    private long ticks;
    /** A ReadIndex request unanswered this long (a lost message) is asked again. */
    private static final long READ_RETRY_TICKS = 20;
    private final List<PendingRead> readsAwaitingApply = new ArrayList<>();
    private long nextReadId = 1;
    private boolean snapshotInFlight;
    private long snapshotNotBefore;
    private long bytesSinceSnapshot;
    private volatile boolean stopped;
    private volatile long snapshotsTaken;
    private volatile long snapshotsInstalled;
    private volatile Role role = Role.FOLLOWER;
    private volatile long leaderId;
    private volatile long term;
    private volatile long appliedIndex;
    private volatile long commitIndex;

    private record PendingWrite(long term, long startNanos, CompletableFuture<Long> future) {}

    /** A membership change: completes when its configuration is final (the joint one left). */
    private record PendingConfChange(long term, CompletableFuture<Configuration> future) {}

    private final Map<Long, PendingConfChange> confChangesByIndex = new HashMap<>();
    /** Changes whose joint configuration was entered: they complete when it is left. */
    private final List<CompletableFuture<Configuration>> confChangesAwaitingLeave = new ArrayList<>();
    private volatile Configuration configuration = Configuration.EMPTY;

    private record PendingRead(long readIndex, long startNanos, CompletableFuture<Long> future) {}

    private record PendingReadIndex(long startNanos, CompletableFuture<Long> future) {}

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

    /**
     * @param clock a monotonic clock in nanoseconds (System::nanoTime; tests pass their own, so
     *     that time moves only when they say)
     */
    RaftNode(RaftConfig config, RaftStorage storage, Transport transport, StateMachine stateMachine,
             long tickMillis, SnapshotPolicy snapshotPolicy, LongSupplier clock) {
        if (tickMillis <= 0) {
            throw new IllegalArgumentException("tickMillis must be positive: " + tickMillis);
        }
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
        this.electionTick = config.electionTick();
        this.clock = new TickClock(clock, tickMillis, 2L * electionTick);
        this.snapshotPolicy = snapshotPolicy;
        this.configuration = core.configuration();
        this.appliedIndex = effective.applied();
        this.term = core.term();
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "raft-node-" + config.groupId() + "-" + id);
            t.setDaemon(true);
            loopThread = t;
            return t;
        });
    }

    public long id() {
        return id;
    }

    /** Sets the metrics listener; call before {@link #start}. */
    public void setListener(Listener listener) {
        this.listener = java.util.Objects.requireNonNull(listener);
    }

    public void start() {
        clock.start();
        // The timer only wakes the loop: every round feeds the core the ticks the clock says are
        // due (catchUpTicks). Fixed delay, not rate: after a stall there is nothing to make up.
        loop.scheduleWithFixedDelay(() -> submit(WAKE), tickMillis, tickMillis, TimeUnit.MILLISECONDS);
    }

    /** An input that does nothing: the round it causes feeds the core its due ticks. */
    private static final Runnable WAKE = () -> {};

    public boolean isLeader() {
        return role == Role.LEADER;
    }

    public Role role() {
        return role;
    }

    public long leaderId() {
        return leaderId;
    }

    public long term() {
        return term;
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    /** The commit index as of the last loop round. */
    public long commitIndex() {
        return commitIndex;
    }

    /** Whether a broken invariant or a storage failure stopped this node. */
    public boolean isStopped() {
        return stopped;
    }

    /** A message from a peer. */
    public void deliver(Message m) {
        deliver(m, reason -> log.debug("node {}: dropped {} from {}: {}", id, m.getClass().getSimpleName(),
                m.from(), reason));
    }

    /**
     * A message from a peer; {@code dropped} hears, on the loop thread, if the core found it invalid
     * against its state ({@link io.flotilla.raft.DropReason}): it must be cheap and never block.
     */
    public void deliver(Message m, java.util.function.Consumer<io.flotilla.raft.DropReason> dropped) {
        submit(() -> core.step(m).ifPresent(dropped));
    }

    /**
     * Driver feedback: an InstallSnapshot for {@code peer} could not be sent; the leader retries
     * at once instead of after its snapshot timeout.
     */
    public void reportSnapshotFailure(long peer) {
        submit(() -> core.reportSnapshotFailure(peer));
    }

    /** Completes with the entry's index once it is applied here; exceptionally with {@link RaftException}. */
    public CompletableFuture<Long> propose(byte[] command) {
        CompletableFuture<Long> f = new CompletableFuture<>();
        long start = System.nanoTime();
        submit(() -> {
            ProposeResult r = core.propose(command);
            if (r instanceof Rejected rej) {
                f.completeExceptionally(new RaftException(rej.error(), rej.leaderHint()));
            } else {
                ProposeResult.Accepted a = (ProposeResult.Accepted) r;
                writesByIndex.put(a.index(), new PendingWrite(a.term(), start, f));
                listener.proposed();
            }
        }, f);
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
        submit(() -> {
            ConfChangeResult r = core.proposeConfChange(change);
            if (r instanceof ConfChangeResult.Refused refused) {
                f.completeExceptionally(new ConfChangeException(refused.error(), refused.leaderHint(), refused.detail()));
            } else {
                ConfChangeResult.Accepted a = (ConfChangeResult.Accepted) r;
                confChangesByIndex.put(a.index(), new PendingConfChange(a.term(), f));
            }
        }, f);
        return f;
    }

    /** The configuration in effect as of the last loop round. */
    public Configuration configuration() {
        return configuration;
    }

    /**
     * Completes with a read index once this node has applied it: a linearizable read may then be
     * served from the local state machine.
     */
    public CompletableFuture<Long> linearizableRead() {
        CompletableFuture<Long> f = new CompletableFuture<>();
        long start = System.nanoTime();
        submit(() -> {
            queuedReads.add(new PendingReadIndex(start, f));
            maybeAskReadIndex();
        }, f);
        return f;
    }

    /**
     * On the loop: one ReadIndex request for every queued read, unless one is in flight. The
     * core may answer it from its lease at once, so its clock is brought to now first: this runs
     * after a Ready whose force or apply may have held the loop for longer than the lease.
     */
    private void maybeAskReadIndex() {
        if (readInFlight != 0 || queuedReads.isEmpty()) {
            return;
        }
        catchUpTicks(); // can only clear readInFlight or queue more reads: still worth asking
        List<PendingReadIndex> batch = queuedReads;
        queuedReads = new ArrayList<>();
        long readId = nextReadId++;
        ReadResult r = core.readIndex(readId);
        if (r instanceof Rejected rej) {
            RaftException e = new RaftException(rej.error(), rej.leaderHint());
            batch.forEach(p -> p.future().completeExceptionally(e));
        } else {
            readsById.put(readId, batch);
            readInFlight = readId;
            readInFlightSinceTick = ticks;
            listener.readIndexAsked(batch.size());
        }
    }

    /**
     * On the loop, before every input and before a ReadIndex: feeds the core each tick that the
     * clock says is due (issue 14 item 2). The loop thread also forces the log and applies, so it
     * can be held far longer than a lease (a slow fsync, a large apply batch, a GC pause) while
     * the network threads queue reads; were the missed ticks fed after those reads, a leader
     * would judge its lease by a clock that stopped during the stall and serve stale reads. Fed
     * first, the core's tick count at any decision is floor((now - start) / tickMillis): a lease
     * of L ticks ends less than L * tickMillis after the heartbeat it rests on left (docs/raft.md,
     * "Lease reads"). Never called between ready() and advance().
     */
    private void catchUpTicks() {
        long owed = clock.owed();
        if (owed <= 0) {
            return;
        }
        long feed = clock.take(owed);
        if (owed > electionTick) {
            log.warn("node {}: the Raft loop fell {} ms behind its clock (a stall: slow force or apply, GC, pause);"
                    + " feeding {} missed ticks before anything else", id, owed * tickMillis, feed);
        }
        for (; feed > 0; feed--) {
            tick();
        }
    }

    /**
     * One tick: a ReadIndex request lost on the way (or its answer) is queued again, to be asked
     * after the catch-up (not here: asking reenters the catch-up).
     */
    private void tick() {
        ticks++;
        core.tick();
        if (readInFlight != 0 && ticks - readInFlightSinceTick >= READ_RETRY_TICKS) {
            List<PendingReadIndex> lost = readsById.remove(readInFlight);
            readInFlight = 0;
            if (lost != null) {
                lost.addAll(queuedReads);
                queuedReads = lost;
            }
        }
    }

    /**
     * Asks the leader to hand leadership to {@code target} (§3.10). Completes once the request is
     * accepted (not when the transfer is done: watch {@link #leaderId()}); exceptionally with
     * {@link RaftException} NOT_LEADER when this node does not lead.
     */
    public CompletableFuture<Void> transferLeadership(long target) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        submit(() -> {
            var rejected = core.transferLeadership(target);
            if (rejected.isPresent()) {
                f.completeExceptionally(new RaftException(rejected.get().error(), rejected.get().leaderHint()));
            } else {
                f.complete(null);
            }
        }, f);
        return f;
    }

    /** Longest stall {@link #stallForTesting} accepts: a typo must not freeze a node for good. */
    static final long MAX_TEST_STALL_MILLIS = TimeUnit.HOURS.toMillis(1);

    /**
     * TEST ONLY — fault injection for tests and the chaos tool's "stall" fault; nothing in a
     * production path calls it. Queues an input that holds this node's loop thread for
     * {@code millis} of its clock, as a slow force or a long apply batch would: messages, requests
     * and reads pile up in the inbox and ticks are missed, then the loop resumes as after any
     * stall. Completes when the stall ends (or the node closes).
     */
    public CompletableFuture<Void> stallForTesting(long millis) {
        if (millis < 0 || millis > MAX_TEST_STALL_MILLIS) {
            throw new IllegalArgumentException("stall must be within [0, " + MAX_TEST_STALL_MILLIS + "] ms: " + millis);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        submit(() -> {
            long until = clock.nanos() + TimeUnit.MILLISECONDS.toNanos(millis);
            for (long left; (left = until - clock.nanos()) > 0 && !stopped; ) {
                // Short parks: the clock may be a test's, which no park can wait for.
                java.util.concurrent.locks.LockSupport.parkNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(1)));
            }
            log.warn("node {}: test stall of {} ms over", id, millis);
            f.complete(null);
        }, f);
        return f;
    }

    /** A consistent view of the node, taken on the loop. */
    public CompletableFuture<Status> status() {
        CompletableFuture<Status> f = new CompletableFuture<>();
        submit(() -> {
            Map<Long, Long> match = new java.util.TreeMap<>();
            if (core.role() == Role.LEADER) {
                for (long peer : core.configuration().members()) {
                    var p = core.progress(peer);
                    match.put(peer, peer == id ? core.log().lastIndex() : p == null ? 0 : p.matchIndex());
                }
            }
            f.complete(new Status(id, core.role(), core.term(), core.leaderId(), core.commitIndex(), appliedIndex,
                    core.log().lastIndex(), storage.snapshot().index(), match, snapshotsTaken, snapshotsInstalled,
                    core.configuration()));
        }, f);
        return f;
    }

    // --------------------------------------------------------------------------------- the loop

    private void submit(Runnable input) {
        submit(input, null);
    }

    /** Queues an input; a future to fail if the node can no longer run it. */
    private void submit(Runnable input, CompletableFuture<?> owner) {
        if (stopped) {
            if (owner != null) {
                owner.completeExceptionally(new IllegalStateException("raft node " + id + " is stopped"));
            }
            return;
        }
        inbox.add(owner == null ? input : () -> {
            try {
                input.run();
            } catch (RuntimeException e) {
                owner.completeExceptionally(e);
                throw e;
            }
        });
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(this::drain);
            } catch (RejectedExecutionException closed) {
                if (owner != null) {
                    owner.completeExceptionally(new IllegalStateException("raft node " + id + " is closed"));
                }
            }
        }
    }

    /** One round: every queued input, then one Ready. A broken invariant stops the node. */
    private void drain() {
        // Cleared before polling: an input queued from now on schedules another round.
        drainScheduled.set(false);
        if (stopped) {
            return;
        }
        try {
            Runnable input;
            int n = 0;
            // After close, no more input and no more Ready: close() is waiting for this round.
            while (!stopped && n < MAX_INPUTS_PER_ROUND && (input = inbox.poll()) != null) {
                n++;
                catchUpTicks(); // any input may have held the loop (a stall), and reads are judged in step()
                try {
                    input.run();
                } catch (RuntimeException e) {
                    // A bad input (say, a message for a node that is not a member) must not cost
                    // the rest of the round; the core state is unchanged by a rejected input.
                    log.warn("node {}: input rejected: {}", id, e.toString());
                }
            }
            maybeAskReadIndex(); // reads a lost request left queued (tick)
            while (!stopped && core.hasReady()) {
                handle(core.ready());
            }
            commitIndex = core.commitIndex();
            configuration = core.configuration();
            if (role != core.role() || leaderId != core.leaderId() || term != core.term()) {
                role = core.role();
                leaderId = core.leaderId();
                term = core.term();
                listener.roleChanged(role, term, leaderId);
            }
        } catch (Error | RuntimeException e) {
            // From handling a Ready: a storage failure or a broken invariant. Nothing more may be
            // persisted or applied by this process (an fsync error is fatal for the log).
            stopped = true;
            log.error("node {} stopping: {}", id, e.toString(), e);
            failAll(e);
            loop.shutdown();
            if (e instanceof Error err) {
                throw err;
            }
            return;
        }
        if (!inbox.isEmpty() && drainScheduled.compareAndSet(false, true)) {
            loop.execute(this::drain);
        }
    }

    private void handle(Ready rd) {
        long readyTaken = System.nanoTime();
        if (rd.sendBeforePersist()) {
            rd.messages().forEach(transport::send);
        }
        if (rd.mustSync()) {
            long t0 = System.nanoTime();
            storage.persist(rd.snapshot(), rd.hardState(), rd.entries());
            listener.persisted(rd.entries().size(), System.nanoTime() - t0);
        }
        if (!rd.sendBeforePersist()) {
            rd.messages().forEach(transport::send);
        }
        if (rd.snapshot() != null) {
            installSnapshot(rd.snapshot());
        }
        List<Entry> committed = rd.committedEntries();
        if (!committed.isEmpty()) {
            long t0 = System.nanoTime();
            for (Entry e : committed) {
                PendingWrite w = writesByIndex.get(e.index());
                if (w != null && w.term() == e.term()) {
                    listener.proposalCommitted(readyTaken - w.startNanos());
                }
            }
            stateMachine.applyAll(committed);
            long now = System.nanoTime();
            listener.applied(committed.size(), now - t0);
            listener.committedApplied(committed.size(), now - readyTaken);
            for (Entry e : committed) {
                if (e.type() == EntryType.CONF_CHANGE) {
                    confChangeApplied(e);
                }
                bytesSinceSnapshot += e.data().length;
                PendingWrite w = writesByIndex.remove(e.index());
                if (w != null) {
                    if (w.term() == e.term()) {
                        listener.proposalApplied(now - w.startNanos());
                        w.future().complete(e.index());
                    } else {
                        // Another leader's entry took the index: ours was never committed.
                        w.future().completeExceptionally(new RaftException(RaftError.LEADERSHIP_LOST, 0));
                    }
                }
            }
            appliedIndex = committed.get(committed.size() - 1).index();
        }
        for (ReadState rs : rd.readStates()) {
            List<PendingReadIndex> batch = readsById.remove(rs.requestId());
            if (batch != null) {
                for (PendingReadIndex p : batch) {
                    readsAwaitingApply.add(new PendingRead(rs.readIndex(), p.startNanos(), p.future()));
                }
            }
            if (rs.requestId() == readInFlight) {
                readInFlight = 0;
            }
        }
        for (Failure failure : rd.failures()) {
            CompletableFuture<?> f = failure.kind() == Failure.Kind.PROPOSAL
                    ? removeWrite(failure.id()) : removeRead(failure.id());
            if (f == null && failure.kind() == Failure.Kind.PROPOSAL) {
                f = removeConfChange(failure.id());
            }
            if (f != null) {
                f.completeExceptionally(new RaftException(failure.error(), 0));
            }
        }
        core.advance(rd);
        maybeAskReadIndex();
        maybeSnapshot();
        if (!readsAwaitingApply.isEmpty()) {
            for (Iterator<PendingRead> it = readsAwaitingApply.iterator(); it.hasNext(); ) {
                PendingRead r = it.next();
                if (r.readIndex() <= appliedIndex) {
                    it.remove();
                    listener.readReady(System.nanoTime() - r.startNanos());
                    r.future().complete(r.readIndex());
                }
            }
        }
    }

    private void confChangeApplied(Entry e) {
        ConfEntry ce = ConfEntry.decode(e.data());
        if (ce.leaveJoint()) {
            confChangesAwaitingLeave.forEach(f -> f.complete(ce.configuration()));
            confChangesAwaitingLeave.clear();
        }
        PendingConfChange p = confChangesByIndex.remove(e.index());
        if (p == null) {
            return;
        }
        if (p.term() != e.term()) {
            p.future().completeExceptionally(new RaftException(RaftError.LEADERSHIP_LOST, 0));
        } else if (ce.configuration().isJoint()) {
            confChangesAwaitingLeave.add(p.future());
        } else {
            p.future().complete(ce.configuration());
        }
    }

    private void maybeSnapshot() {
        if (snapshotInFlight || !snapshotPolicy.enabled() || appliedIndex < snapshotNotBefore) {
            return;
        }
        long since = appliedIndex - storage.snapshot().index();
        boolean due = (snapshotPolicy.entries() > 0 && since >= snapshotPolicy.entries())
                || (snapshotPolicy.bytes() > 0 && bytesSinceSnapshot >= snapshotPolicy.bytes());
        if (!due || since <= 0) {
            return;
        }
        snapshotInFlight = true;
        bytesSinceSnapshot = 0;
        long at = appliedIndex;
        long started = System.nanoTime();
        CompletableFuture<StateMachine.Taken> taking;
        try {
            taking = stateMachine.takeSnapshot(at);
        } catch (RuntimeException e) {
            taking = CompletableFuture.failedFuture(e);
        }
        taking.whenComplete((taken, err) -> submit(() -> {
            snapshotInFlight = false;
            if (err != null) {
                // Not fatal: the log keeps growing until a later attempt works.
                snapshotNotBefore = appliedIndex + Math.max(1, snapshotPolicy.entries() / 2);
                log.warn("node {}: snapshot at {} failed; retrying later", id, at, err);
                return;
            }
            InvariantViolation.check(taken.index() >= at && taken.index() <= appliedIndex,
                    "node %d: snapshot asked at %d came back at %d with applied %d", id, at, taken.index(),
                    appliedIndex);
            if (taken.index() > storage.snapshot().index()) {
                // At the applied index the core knows the configuration; otherwise storage finds it.
                if (taken.index() == core.lastApplied()) {
                    storage.createSnapshot(taken.index(), core.appliedConfiguration(), taken.data());
                } else {
                    storage.createSnapshot(taken.index(), taken.data());
                }
                snapshotsTaken++;
                listener.snapshotTaken(taken.index(), taken.data().length, System.nanoTime() - started);
                log.info("node {}: snapshot at {} ({} bytes), log compacted", id, taken.index(),
                        taken.data().length);
            }
        }));
    }

    /** A snapshot from the leader, already durable in storage: now the state machine. */
    private void installSnapshot(Snapshot snapshot) {
        long t0 = System.nanoTime();
        stateMachine.restore(snapshot.index(), snapshot.data());
        listener.snapshotInstalled(snapshot.index(), snapshot.sizeBytes(), System.nanoTime() - t0);
        appliedIndex = snapshot.index();
        bytesSinceSnapshot = 0;
        snapshotsInstalled++;
        log.info("node {}: installed the leader's snapshot at {} ({} bytes)", id, snapshot.index(), snapshot.sizeBytes());
        // Writes waiting on an index the snapshot covers will never be applied here one by one:
        // their outcome is unknown to this node (the entry there may or may not be ours).
        for (Iterator<Map.Entry<Long, PendingWrite>> it = writesByIndex.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, PendingWrite> w = it.next();
            if (w.getKey() <= snapshot.index()) {
                it.remove();
                w.getValue().future().completeExceptionally(new RaftException(RaftError.LEADERSHIP_LOST, 0));
            }
        }
        for (Iterator<Map.Entry<Long, PendingConfChange>> it = confChangesByIndex.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Long, PendingConfChange> c = it.next();
            if (c.getKey() <= snapshot.index()) {
                it.remove();
                c.getValue().future().completeExceptionally(new RaftException(RaftError.LEADERSHIP_LOST, 0));
            }
        }
        confChangesAwaitingLeave.forEach(f -> f.completeExceptionally(new RaftException(RaftError.LEADERSHIP_LOST, 0)));
        confChangesAwaitingLeave.clear();
    }

    private CompletableFuture<?> removeConfChange(long index) {
        PendingConfChange p = confChangesByIndex.remove(index);
        return p == null ? null : p.future();
    }

    private CompletableFuture<Long> removeRead(long requestId) {
        if (requestId == readInFlight) {
            readInFlight = 0;
        }
        List<PendingReadIndex> batch = readsById.remove(requestId);
        if (batch == null) {
            return null;
        }
        // One failure for the whole batch: complete the others here, hand back the first.
        CompletableFuture<Long> shared = new CompletableFuture<>();
        shared.whenComplete((v, t) -> batch.forEach(p -> p.future().completeExceptionally(t)));
        return shared;
    }

    private CompletableFuture<Long> removeWrite(long index) {
        PendingWrite w = writesByIndex.remove(index);
        return w == null ? null : w.future();
    }

    /** The node stopped: nobody waiting may hang. Writes are of unknown outcome, reads simply failed. */
    private void failAll(Throwable cause) {
        IllegalStateException stoppedError = new IllegalStateException("raft node " + id + " stopped", cause);
        writesByIndex.values().forEach(w -> w.future().completeExceptionally(stoppedError));
        writesByIndex.clear();
        readsById.values().forEach(b -> b.forEach(p -> p.future().completeExceptionally(stoppedError)));
        queuedReads.forEach(p -> p.future().completeExceptionally(stoppedError));
        queuedReads.clear();
        readsById.clear();
        readsAwaitingApply.forEach(r -> r.future().completeExceptionally(stoppedError));
        readsAwaitingApply.clear();
        confChangesByIndex.values().forEach(c -> c.future().completeExceptionally(stoppedError));
        confChangesByIndex.clear();
        confChangesAwaitingLeave.forEach(f -> f.completeExceptionally(stoppedError));
        confChangesAwaitingLeave.clear();
    }

    /** How long {@link #close()} waits for the round in progress (a force, an apply batch) to end. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    /**
     * Stops the node and waits up to {@link #CLOSE_WAIT} for the loop to finish the round it is
     * in, so that nothing is persisted or applied once this returns: the caller closes the log
     * and the state machine next, and a round still running would write the hard-state file
     * behind their back (a reopen in the same process could then read a stale term or vote).
     */
    @Override
    public void close() {
        close(CLOSE_WAIT);
    }

    /** As {@link #close()}, waiting at most {@code wait}; whether the loop finished. */
    boolean close(Duration wait) {
        stopped = true;
        // Not shutdownNow: the loop may be inside a WAL write (Wal.appendDurably), and an
        // interrupt during file I/O closes the file and fails the log.
        loop.shutdown();
        if (Thread.currentThread() == loopThread) {
            return false; // called by the loop itself (a state machine stopping its node): its round ends after this
        }
        try {
            if (loop.awaitTermination(wait.toNanos(), TimeUnit.NANOSECONDS)) {
                return true;
            }
            log.warn("node {}: closed, but its Raft loop did not finish its round within {} ms (a force or apply"
                    + " still running); it persists and applies nothing more once that returns", id, wait.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }
}
