package io.flotilla.raft.node;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeResult;
import io.flotilla.raft.DropReason;
import io.flotilla.raft.Entry;
import io.flotilla.raft.Failure;
import io.flotilla.raft.Message;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftCore;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Rejected;
import io.flotilla.raft.Role;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.storage.RaftStorage;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Raft group on this node, driven synchronously (etcd's RawNode idea, one level up): it owns
 * the group's {@link RaftCore} and everything a Ready asks for — persist with one force, send,
 * install a snapshot, apply, serve reads, complete or fail the proposals waiting — plus the
 * group's snapshot policy and its clock. It starts no thread and never blocks but in its storage
 * and state machine: whoever drives it ({@link RaftScheduler} in production, the simulator in
 * tests) calls it from one thread at a time, in this order for every input:
 * {@link #catchUpTicks()}, then the input ({@link #step}, {@link #propose}, ...), and after a
 * batch of inputs {@link #handleReadies()} (or, to look between Readies as the simulator does,
 * {@link #askPendingReads()} and then {@link #handleReady()} while {@link #hasReady()}).
 *
 * <p>Time enters only through the {@code clock} given at construction: the ticks it says are due
 * are fed to the core before every input (issue 14 item 2), so a lease is never judged by a clock
 * that stopped while the driver's thread was held.
 *
 * <p>A storage failure or a broken invariant surfaces as an exception from {@link #handleReady};
 * the driver must then {@link #stop} the replica: nothing more may be persisted or applied by this
 * process (an fsync error is fatal for the log).
 */
public final class RaftReplica {

    private static final Logger log = LoggerFactory.getLogger(RaftReplica.class);

    /** Where work finished on another thread (a snapshot taken) comes back as an input. */
    @FunctionalInterface
    public interface Mailbox {
        void post(Runnable input);
    }

    private final long id;
    private final long groupId;
    private final RaftCore core;
    private final RaftStorage storage;
    private final Transport transport;
    private final StateMachine stateMachine;
    private final TickClock clock;
    private final int electionTick;
    private final long tickMillis;
    private final ProposalTracker proposals = new ProposalTracker();
    private final ReadIndexBatcher reads;
    private final Snapshotter snapshotter;
    private RaftNode.Listener listener = RaftNode.Listener.NONE;
    private long ticks;
    /** BUG INJECTION for the simulator's teeth test (NodeTestSeams): due ticks are not fed. */
    boolean testOnlyHoldTicks;
    /** Set by {@link #stop} (driver thread) or {@link #markStopped} (any thread); checked between inputs. */
    private volatile boolean stopped;
    private boolean failed;

    // Published after every round for readers on other threads.
    private volatile Role role = Role.FOLLOWER;
    private volatile long leaderId;
    private volatile long term;
    private volatile long appliedIndex;
    private volatile long commitIndex;
    private volatile Configuration configuration;
    private volatile boolean quiesced;

    /**
     * @param clock   a monotonic clock in nanoseconds (System::nanoTime; tests and the simulator
     *                pass their own), for ticks and for the timings reported to the listener
     * @param mailbox how a snapshot finished on another thread is handed back to this replica's
     *                driver
     */
    public RaftReplica(RaftConfig config, RaftStorage storage, Transport transport, StateMachine stateMachine,
                       long tickMillis, RaftNode.SnapshotPolicy snapshotPolicy, LongSupplier clock,
                       Mailbox mailbox) {
        if (tickMillis <= 0) {
            throw new IllegalArgumentException("tickMillis must be positive: " + tickMillis);
        }
        this.id = config.nodeId();
        this.groupId = config.groupId();
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
        // After a stall at most two election timeouts of owed ticks are fed: enough for every
        // lease and every election timer to run out, as they would have in real time, without a
        // burst of redundant heartbeats.
        this.clock = new TickClock(clock, tickMillis, 2L * electionTick);
        this.snapshotter = new Snapshotter(snapshotPolicy, mailbox);
        // Read request ids start at the clock (monotonic across restarts of this machine's
        // processes): never an id the previous incarnation may still get a late answer for.
        this.reads = new ReadIndexBatcher(clock.getAsLong());
        this.configuration = core.configuration();
        this.appliedIndex = effective.applied();
        this.term = core.term();
    }

    public long id() {
        return id;
    }

    public long groupId() {
        return groupId;
    }

    /** Sets the metrics listener (called on the driver's thread: cheap, never blocking). */
    public void setListener(RaftNode.Listener listener) {
        this.listener = java.util.Objects.requireNonNull(listener);
    }

    /** Starts the clock: tick n is due n ticks from now. */
    public void start() {
        clock.start();
    }

    /** The core, for inspection by tests and the simulator; never step it from outside. */
    public RaftCore core() {
        return core;
    }

    /** The clock's reading, in nanoseconds. */
    public long nanos() {
        return clock.nanos();
    }

    // ------------------------------------------------------------------------------- inputs

    /**
     * Feeds the core each tick that the clock says is due. The driver calls it before every
     * input: its thread also forces the log and applies, so it can be held far longer than a lease
     * (a slow fsync, a large apply batch, a GC pause) while other threads queue reads; were the
     * missed ticks fed after those reads, a leader would judge its lease by a clock that stopped
     * during the stall and serve stale reads. Fed first, the core's tick count at any decision is
     * floor((now - start) / tickMillis): a lease of L ticks ends less than L * tickMillis after the
     * heartbeat it rests on left (docs/raft.md, "Lease reads"). Never between ready() and advance().
     */
    public void catchUpTicks() {
        if (testOnlyHoldTicks) {
            return;
        }
        long owed = clock.owed();
        if (owed <= 0) {
            return;
        }
        long feed = clock.take(owed);
        if (owed > electionTick && !core.isQuiesced()) { // a quiesced group is not woken: that is no stall
            log.warn("node {} group {}: the Raft loop fell {} ms behind its clock (a stall: slow force or apply, GC,"
                    + " pause); feeding {} missed ticks before anything else", id, groupId, owed * tickMillis, feed);
        }
        for (; feed > 0; feed--) {
            ticks++;
            core.tick();
            reads.onTick(ticks);
        }
    }

    /** A message from a peer; {@code dropped} hears if the core found it invalid against its state. */
    public void step(Message m, Consumer<DropReason> dropped) {
        if (m instanceof Message.InstallSnapshot is && is.term() >= core.term()
                && !stateMachine.canRestore(is.snapshot().index(), is.snapshot().data())) {
            dropped.accept(DropReason.SNAPSHOT_REFUSED);
            return;
        }
        core.step(m).ifPresent(dropped);
    }

    /**
     * Sends a Ready's message, but a snapshot that carries no state (the start of a range made by
     * a split, which a follower that missed the split cannot install) is held back: a real
     * snapshot is taken instead, and the leader sends it once its snapshot timeout runs out.
     */
    private void send(Message m) {
        if (m instanceof Message.InstallSnapshot is
                && !stateMachine.canSendSnapshot(is.snapshot().index(), is.snapshot().data())) {
            log.info("node {} group {}: the snapshot at {} holds no state; taking one for follower {}", id, groupId,
                    is.snapshot().index(), is.to());
            snapshotter.request();
            return;
        }
        transport.send(m);
    }

    /** Starts an election now (a group just made by a split, on the node that led its parent). */
    public void campaign() {
        core.campaign();
    }

    /** Takes a snapshot as soon as one can be taken (the policy's thresholds aside). */
    public void requestSnapshot() {
        snapshotter.request();
        snapshotter.maybeTake(this);
    }

    /** The node of {@code peer} is unreachable: a follower quiesced under it wakes (RaftCore#peerUnreachable). */
    public void peerUnreachable(long peer) {
        core.peerUnreachable(peer);
    }

    /** The node of {@code peer} is reachable again (RaftCore#peerReachable). */
    public void peerReachable(long peer) {
        core.peerReachable(peer);
    }

    /** An InstallSnapshot for {@code peer} could not be sent: the leader retries at once. */
    public void reportSnapshotFailure(long peer) {
        core.reportSnapshotFailure(peer);
    }

    /**
     * Proposes a command. If the core accepts it, {@code applied} completes with the entry's index
     * once it is applied here, or exceptionally with {@link RaftException} (LEADERSHIP_LOST: the
     * outcome is unknown to this node); if the core refuses it, {@code applied} fails at once.
     *
     * @param startNanos when the caller made the proposal (on {@link #nanos()}), for metrics
     */
    public ProposeResult propose(byte[] command, long startNanos, CompletableFuture<Long> applied) {
        ProposeResult r = core.propose(command);
        if (r instanceof Rejected rej) {
            applied.completeExceptionally(new RaftException(rej.error(), rej.leaderHint()));
        } else {
            ProposeResult.Accepted a = (ProposeResult.Accepted) r;
            proposals.write(a.index(), a.term(), startNanos, applied);
            listener.proposed();
        }
        return r;
    }

    /** A membership change; {@code done} completes once it is final (see {@link RaftNode#proposeConfChange}). */
    public void proposeConfChange(ConfChange change, CompletableFuture<Configuration> done) {
        ConfChangeResult r = core.proposeConfChange(change);
        if (r instanceof ConfChangeResult.Refused refused) {
            done.completeExceptionally(new ConfChangeException(refused.error(), refused.leaderHint(), refused.detail()));
        } else {
            ConfChangeResult.Accepted a = (ConfChangeResult.Accepted) r;
            proposals.confChange(a.index(), a.term(), done);
        }
    }

    /**
     * A linearizable read: {@code readIndex} completes with a read index once this replica has
     * applied it, so the read may be served from the local state machine.
     */
    public void read(long startNanos, CompletableFuture<Long> readIndex) {
        reads.add(startNanos, readIndex);
        maybeAskReadIndex();
    }

    /** Asks the leader to hand leadership to {@code target}; {@code accepted} completes once asked. */
    public void transferLeadership(long target, CompletableFuture<Void> accepted) {
        var rejected = core.transferLeadership(target);
        if (rejected.isPresent()) {
            accepted.completeExceptionally(new RaftException(rejected.get().error(), rejected.get().leaderHint()));
        } else {
            accepted.complete(null);
        }
    }

    /** A consistent view of this replica. */
    public RaftNode.Status status() {
        Map<Long, Long> match = new TreeMap<>();
        java.util.Set<Long> active = new java.util.TreeSet<>();
        if (core.role() == Role.LEADER) {
            for (long peer : core.configuration().members()) {
                var p = core.progress(peer);
                match.put(peer, peer == id ? core.log().lastIndex() : p == null ? 0 : p.matchIndex());
                if (peer == id || p != null && p.recentActive()) {
                    active.add(peer);
                }
            }
        }
        return new RaftNode.Status(id, core.role(), core.term(), core.leaderId(), core.commitIndex(),
                appliedIndex, core.log().lastIndex(), storage.snapshot().index(), match,
                snapshotter.takenCount(), snapshotter.installedCount(), core.configuration(), active);
    }

    // ------------------------------------------------------------------------------ readies

    /**
     * After a batch of inputs: asks for a read index if reads wait, handles every Ready, and
     * publishes the new role, term and indexes for other threads.
     */
    public void handleReadies() {
        askPendingReads();
        while (!stopped && core.hasReady()) {
            handleReady();
        }
        publish();
    }

    /**
     * Asks for a read index if reads wait and none is in flight (reads a lost request left queued
     * after a tick): the start of every round, before its Readies.
     */
    public void askPendingReads() {
        maybeAskReadIndex();
    }

    public boolean hasReady() {
        return !stopped && core.hasReady();
    }

    /** Handles one Ready by the contract: persist with one force, send, apply, reads, advance. */
    public void handleReady() {
        Ready rd = writeReady();
        if (rd.mustSync()) {
            long t0 = clock.nanos();
            storage.sync();
            listener.persisted(rd.entries().size(), clock.nanos() - t0 + writeNanos);
        }
        finishReady(rd);
    }

    /** Time spent writing the Ready in hand (for the persist metric, which includes the force). */
    private long writeNanos;
    private long readyTaken;

    /**
     * The first half of handling a Ready, for a driver that forces once for several replicas
     * sharing a log ({@link RaftScheduler}): takes the Ready, sends what may leave before it is
     * durable (a leader's messages, §10.2.1), and writes its snapshot, entries and hard state to
     * storage, unforced. The caller then makes storage durable ({@link RaftStorage#sync}) if
     * {@link Ready#mustSync}, and calls {@link #finishReady} with it, touching this replica in
     * nothing else meanwhile.
     */
    public Ready writeReady() {
        Ready rd = core.ready();
        readyTaken = clock.nanos();
        if (rd.sendBeforePersist()) {
            rd.messages().forEach(this::send);
        }
        writeNanos = 0;
        if (rd.mustSync()) {
            long t0 = clock.nanos();
            if (rd.snapshot() != null) {
                storage.applySnapshot(rd.snapshot());
            }
            storage.append(rd.entries());
            if (rd.hardState() != null) {
                storage.setHardState(rd.hardState());
            }
            writeNanos = clock.nanos() - t0;
        }
        return rd;
    }

    /** The force that made {@code rd} durable took {@code syncNanos} (shared with other replicas). */
    public void persisted(Ready rd, long syncNanos) {
        listener.persisted(rd.entries().size(), writeNanos + syncNanos);
    }

    /** The second half, once {@code rd} is durable: send, install, apply, serve reads, advance. */
    public void finishReady(Ready rd) {
        if (!rd.sendBeforePersist()) {
            rd.messages().forEach(this::send);
        }
        if (rd.snapshot() != null) {
            installSnapshot(rd.snapshot());
        }
        if (!rd.committedEntries().isEmpty()) {
            apply(rd, readyTaken);
        }
        for (ReadState rs : rd.readStates()) {
            reads.onReadState(rs);
        }
        for (Failure failure : rd.failures()) {
            if (failure.kind() == Failure.Kind.PROPOSAL) {
                proposals.failed(failure.id(), failure.error());
            } else {
                reads.failed(failure.id(), new RaftException(failure.error(), 0));
            }
        }
        core.advance(rd);
        maybeAskReadIndex();
        snapshotter.maybeTake(this);
        reads.serve(appliedIndex, clock.nanos(), listener::readReady);
        publish();
    }

    private void apply(Ready rd, long readyTaken) {
        var committed = rd.committedEntries();
        long t0 = clock.nanos();
        for (Entry e : committed) {
            long proposedAt = proposals.proposedAt(e);
            if (proposedAt >= 0) {
                listener.proposalCommitted(readyTaken - proposedAt);
            }
        }
        stateMachine.applyAll(committed);
        long now = clock.nanos();
        listener.applied(committed.size(), now - t0);
        listener.committedApplied(committed.size(), now - readyTaken);
        for (Entry e : committed) {
            snapshotter.appliedBytes(e.data().length);
            long proposedAt = proposals.applied(e);
            if (proposedAt >= 0) {
                listener.proposalApplied(now - proposedAt);
            }
        }
        appliedIndex = committed.get(committed.size() - 1).index();
    }

    /**
     * One ReadIndex request for every queued read, unless one is in flight. The core may answer
     * it from its lease at once, so its clock is brought to now first: this runs after a Ready
     * whose force or apply may have held the thread for longer than the lease.
     */
    private void maybeAskReadIndex() {
        if (!reads.wantsRound()) {
            return;
        }
        catchUpTicks(); // can only clear the request in flight or queue more reads: still worth asking
        int asked = reads.ask(core, ticks);
        if (asked > 0) {
            listener.readIndexAsked(asked);
        }
    }

    /** A snapshot from the leader, already durable in storage: now the state machine. */
    private void installSnapshot(Snapshot snapshot) {
        long t0 = clock.nanos();
        stateMachine.restore(snapshot.index(), snapshot.data());
        listener.snapshotInstalled(snapshot.index(), snapshot.sizeBytes(), clock.nanos() - t0);
        appliedIndex = snapshot.index();
        snapshotter.snapshotInstalled();
        log.info("node {} group {}: installed the leader's snapshot at {} ({} bytes)", id, groupId, snapshot.index(),
                snapshot.sizeBytes());
        proposals.snapshotInstalled(snapshot.index());
    }

    // ---------------------------------------------------------------- for the snapshotter

    RaftStorage storage() {
        return storage;
    }

    StateMachine stateMachine() {
        return stateMachine;
    }

    RaftNode.Listener listener() {
        return listener;
    }

    // ------------------------------------------------------------------------------ stopping

    /**
     * Stops the replica after a storage failure, a broken invariant, or a close: nothing more is
     * persisted or applied, and everyone waiting hears {@code cause} (writes: outcome unknown).
     */
    public void stop(Throwable cause) {
        stopped = true;
        if (failed) {
            return;
        }
        failed = true;
        IllegalStateException error = new IllegalStateException("raft node " + id + " stopped", cause);
        proposals.failAll(error);
        reads.failAll(error);
    }

    /** Marks the replica stopped from any thread; its driver then runs nothing more for it. */
    void markStopped() {
        stopped = true;
    }

    /** Whether the replica stopped (any thread). */
    public boolean isStopped() {
        return stopped;
    }

    /** Publishes role, term and indexes for readers on other threads (after a round). */
    void publish() {
        quiesced = core.isQuiesced();
        commitIndex = core.commitIndex();
        configuration = core.configuration();
        if (role != core.role() || leaderId != core.leaderId() || term != core.term()) {
            role = core.role();
            leaderId = core.leaderId();
            term = core.term();
            listener.roleChanged(role, term, leaderId);
        }
    }

    // Views for other threads, as of the last round.

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

    public long commitIndex() {
        return commitIndex;
    }

    public Configuration configuration() {
        return configuration;
    }

    /** Whether the group is quiesced (as of the last round): the scheduler's timer skips it. */
    public boolean isQuiesced() {
        return quiesced;
    }
}
