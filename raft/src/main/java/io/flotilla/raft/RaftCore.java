package io.flotilla.raft;

import io.flotilla.raft.Message.AppendEntries;
import io.flotilla.raft.Message.AppendEntriesResponse;
import io.flotilla.raft.Message.Heartbeat;
import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.Message.ReadIndexRequest;
import io.flotilla.raft.Message.RequestVote;
import io.flotilla.raft.Message.RequestVoteResponse;
import io.flotilla.raft.log.RaftLog;
import io.flotilla.raft.quorum.Configuration;
import io.flotilla.raft.storage.HardStateStore;
import io.flotilla.raft.storage.LogStorage;
import io.flotilla.raft.tracker.Progress;
import java.util.List;
import java.util.Optional;

/**
 * The Raft protocol for one node of one group, as a pure single-threaded state machine (after
 * etcd-io/raft's raft.go). Inputs: {@link #tick()}, {@link #step(Message)}, {@link #propose},
 * {@link #readIndex}, {@link #transferLeadership}. Output: {@link #ready()}, acknowledged with
 * {@link #advance(Ready)}. No threads, clocks, I/O or global state: the same code runs in the
 * simulator and in production. Not thread-safe; confine each instance to one thread.
 *
 * <p>Contract: between {@link #ready()} and {@link #advance(Ready)} the caller persists, sends and
 * applies, and calls no other method of this instance.
 */
public final class RaftCore {

    /** What {@link #step} returns for a message it took (or ignored as stale). */
    private static final Optional<DropReason> VALID = Optional.empty();

    private final RaftConfig config;
    private final long id;
    private final long groupId;
    /** The configuration in effect (changes when a configuration entry commits). */
    private final Membership membership;
    /** Members (voters and learners) other than this node, sorted so that message order is deterministic. */
    private long[] peers;
    /** Voters of either half other than this node, sorted: whom a candidate asks. */
    private long[] voterPeers;
    private final RaftLog log;
    /** The receiver side of replication (AppendEntries, InstallSnapshot, heartbeats). */
    private final LogReceiver receiver;

    // Persistent state (Figure 2), saved through Ready.hardState.
    private long term;
    private long votedFor;
    private long commitIndex;
    // Volatile state.
    private long lastApplied;
    private RecoveryFence fence; // up: no vote, no campaign (docs/raft.md, "Recovery after a cut"); persisted
    private Role role = Role.FOLLOWER;
    private long leaderId;

    private int electionElapsed;
    /**
     * With lease reads: this process started less than an election timeout ago. It may have
     * acknowledged a leader's heartbeat just before it crashed, and that leader counts on it not
     * voting for anyone else for an election timeout; having forgotten, it honours the promise
     * blindly by treating its start as a heartbeat (stickiness until electionTick).
     */
    private boolean startupLease;
    private int heartbeatElapsed;
    private int randomizedElectionTimeout;
    /** Whether idle, and which peers the driver reported unreachable (RaftConfig.quiesce). */
    private final Quiescence quiescence = new Quiescence();
    /** Campaigns, vote counting and granting votes. */
    private final Elections elections;

    /** Leader-only state (Progress per peer, reads, transfer). Null unless leader. */
    private Leader leader;

    /** Messages, read states and failures accumulated for the next Ready. */
    private final Outbox outbox = new Outbox();
    private HardState prevHardState;
    private boolean readyOutstanding;

    /** TEST ONLY (Figure 8 bug injection): commit by counting replicas of an older-term entry. */
    boolean testOnlyCommitOlderTerms;
    /** TEST ONLY (membership bug injection): switch voter sets in one step, without C_old,new. */
    boolean testOnlySkipJointConsensus;

    /** Builds a node from durable state only: what a restart after a crash sees. */
    public RaftCore(RaftConfig config, LogStorage storage, HardStateStore hardStateStore) {
        this.config = config;
        this.id = config.nodeId();
        this.groupId = config.groupId();
        this.log = new RaftLog(storage);
        this.receiver = new LogReceiver(this);
        this.elections = new Elections(this);
        HardState hs = hardStateStore.hardState();
        InvariantViolation.check(hs.commitIndex() <= log.lastIndex(),
                "node %d: durable commit %d beyond durable log %d", id, hs.commitIndex(), log.lastIndex());
        // A snapshot only ever covers committed entries; and every configuration entry but the
        // last in the log is committed (see Membership), whatever the persisted commit says.
        long durableCommit = Math.max(hs.commitIndex(), log.firstIndex() - 1);
        this.membership = new Membership(log, new Configuration(config.voters()), durableCommit, config.applied());
        long commit = membership.restartCommit();
        updatePeers();
        InvariantViolation.check(config.applied() <= commit, "applied beyond commit");
        // Entries below firstIndex are gone: the driver must have restored the state machine from
        // storage.snapshot() (or have applied at least that far) before building the core.
        InvariantViolation.check(config.applied() >= log.firstIndex() - 1,
                "node %d: applied %d is below the snapshot at %d; restore the state machine from it first",
                id, config.applied(), log.firstIndex() - 1);
        this.fence = hs.fence().atStart(log.lastTerm(), configuration().allVoters().equals(java.util.Set.of(id)));
        this.term = fence.isUp() ? Math.max(hs.term(), fence.term() + 1) : hs.term(); // ends leaderships counting lost acks
        this.votedFor = term == hs.term() ? hs.votedFor() : 0;
        this.commitIndex = commit;
        this.lastApplied = config.applied();
        this.prevHardState = hs;
        becomeFollower(term, 0);
        this.startupLease = config.leaseRead();
    }

    // ---------------------------------------------------------------- accessors

    public long id() {
        return id;
    }

    public long groupId() {
        return groupId;
    }

    public long term() {
        return term;
    }

    public long votedFor() {
        return votedFor;
    }

    public long commitIndex() {
        return commitIndex;
    }

    public long lastApplied() {
        return lastApplied;
    }

    public Role role() {
        return role;
    }

    public long leaderId() {
        return leaderId;
    }

    public long leadTransferee() {
        return leader == null ? 0 : leader.leadTransferee();
    }

    /** The core's log, for inspection (tests, invariant checks, metrics). Never mutate it from outside. */
    public RaftLog log() {
        return log;
    }

    public HardState hardState() {
        return new HardState(term, votedFor, commitIndex, fence);
    }

    /**
     * The configuration in effect: the last committed configuration entry's (or the snapshot's,
     * or the bootstrap voters). {@link Configuration#EMPTY} on a joining node that has not learned
     * one yet.
     */
    public Configuration configuration() {
        return membership.configuration();
    }

    /** The configuration as of {@link #lastApplied()}: what a snapshot taken there must record. */
    public Configuration appliedConfiguration() {
        return membership.applied();
    }

    /** Whether a configuration entry is in the log but not yet known committed. */
    public boolean confChangePending() {
        return membership.hasUncommitted();
    }

    /** The leader's view of a peer (null unless leader). For tests and metrics. */
    public Progress progress(long peer) {
        return leader == null ? null : leader.progress(peer);
    }

    // ---------------------------------------------------------------- inputs

    /** One unit of logical time (nothing while quiesced). */
    public void tick() {
        checkNoReadyOutstanding();
        if (quiescence.isQuiesced()) {
            if (role == Role.LEADER) {
                leader.tick(); // a lease keeps running out while quiesced: it is wall time, not activity
            }
            return;
        }
        if (role == Role.LEADER) {
            tickHeartbeat();
        } else {
            tickElection();
        }
    }

    /**
     * Starts an election now, as if the election timeout had elapsed (with pre-vote if configured).
     * For drivers that bootstrap a group and for tests; a leader ignores it.
     */
    public void campaign() {
        checkNoReadyOutstanding();
        wake();
        if (role != Role.LEADER && configuration().isVoter(id) && !fence.isUp()) {
            electionElapsed = 0;
            elections.campaign(config.preVote() ? Elections.CampaignType.PRE_VOTE : Elections.CampaignType.ELECTION);
        }
    }

    /** Proposes a command; only a leader accepts it. */
    public ProposeResult propose(byte[] data) {
        checkNoReadyOutstanding();
        wake();
        if (role != Role.LEADER) {
            return new Rejected(RaftError.NOT_LEADER, leaderId);
        }
        return leader.propose(data);
    }

    /**
     * Proposes a membership change (only a leader accepts it). A change of the voter set enters a
     * joint configuration; once that entry commits, this leader appends the entry that leaves it
     * by itself. Either entry takes effect when committed; the driver sees both among
     * {@link Ready#committedEntries} as {@link EntryType#CONF_CHANGE} ({@link ConfEntry#decode}).
     * Only one change may be in flight: a second one is refused with
     * {@link ConfChangeError#CHANGE_PENDING} until the configuration is final.
     */
    public ConfChangeResult proposeConfChange(ConfChange change) {
        checkNoReadyOutstanding();
        wake();
        if (role != Role.LEADER) {
            return new ConfChangeResult.Refused(ConfChangeError.NOT_LEADER, leaderId, "not the leader");
        }
        return leader.proposeConfChange(change);
    }

    /**
     * Asks for a linearizable read point. A leader confirms its leadership with a heartbeat round;
     * a follower forwards the request to its leader. The answer is a {@link ReadState} in a later
     * Ready (or a {@link Failure} on a leader that steps down; a forwarded request whose answer is
     * lost simply never completes, so callers time out).
     */
    public ReadResult readIndex(long requestId) {
        checkNoReadyOutstanding();
        wake();
        if (role == Role.LEADER) {
            leader.handleReadIndex(new ReadOnly.Request(id, requestId));
            return new ReadResult.Pending(requestId);
        }
        if (role != Role.FOLLOWER || leaderId == 0) {
            return new Rejected(RaftError.NOT_LEADER, leaderId);
        }
        send(new ReadIndexRequest(groupId, id, leaderId, term, requestId));
        return new ReadResult.Pending(requestId);
    }

    /** Hands leadership to {@code target} once its log is caught up (§3.10). Empty if accepted. */
    public java.util.Optional<Rejected> transferLeadership(long target) {
        checkNoReadyOutstanding();
        wake();
        if (!configuration().isVoter(target)) {
            // Learners included: they may lag arbitrarily and do not count in any quorum.
            throw new IllegalArgumentException("not a voter: " + target);
        }
        if (role != Role.LEADER) {
            return java.util.Optional.of(new Rejected(RaftError.NOT_LEADER, leaderId));
        }
        if (target != id && target != leader.leadTransferee()) {
            electionElapsed = 0; // the transfer is abandoned after one election timeout
            leader.transferLeadership(target);
        }
        return java.util.Optional.empty();
    }

    /**
     * Driver feedback for an InstallSnapshot it could not deliver to {@code peer} (etcd's
     * ReportSnapshot): the leader probes the peer again (and so resends a snapshot if still needed)
     * instead of waiting for the attempt to time out. Ignored unless leader.
     */
    public void reportSnapshotFailure(long peer) {
        checkNoReadyOutstanding();
        if (role == Role.LEADER && peer != id && configuration().isMember(peer)) {
            leader.snapshotFailed(peer);
        }
    }

    /**
     * Whether this leader holds a read lease now (always false unless {@link RaftConfig#leaseRead}):
     * a ReadIndex is then answered at once, without a heartbeat round. For tests and metrics.
     */
    public boolean hasReadLease() {
        return leader != null && leader.leaseValid();
    }

    /**
     * Handles a message from a peer: validation, then term first (§5.1), then by role. Returns why
     * the message was dropped if it is invalid ({@link DropReason}): this node's state is then as it
     * was and nothing is sent. A peer's input never makes the core throw; the driver counts and logs
     * what comes back.
     */
    public Optional<DropReason> step(Message m) {
        checkNoReadyOutstanding();
        Optional<DropReason> invalid = MessageValidator.validate(m, groupId, id);
        if (invalid.isEmpty()) {
            invalid = MessageStateCheck.check(this, m);
        }
        if (invalid.isPresent()) {
            return invalid;
        }
        quiescence.heardFrom(m.from());
        if (!(m instanceof Heartbeat hb && hb.quiesce())) {
            wake(); // any message but a quiesce heartbeat: the group has work
        }
        // Messages from non-members are not dropped (but see MessageStateCheck): a joining node
        // hears from a leader it does not know yet, a node promoted before it learned so must still
        // vote, and a removed leader hands over with TimeoutNow. Non-members never count in a
        // quorum (Configuration).
        if (m.term() > term) {
            if (m instanceof RequestVote rv) {
                // Leader stickiness (§4.2.3 / §9.6): a node that heard from a live leader within
                // the minimum election timeout ignores requests to replace it, unless the leader
                // itself asked for the election (transfer).
                boolean inLease = config.checkQuorum() && (leaderId != 0 || startupLease)
                        && electionElapsed < config.electionTick();
                if (inLease && !rv.transfer()) {
                    return VALID;
                }
            }
            if (m instanceof RequestVote rv && rv.preVote()) {
                // A pre-vote never changes our term.
            } else if (m instanceof RequestVoteResponse r && r.preVote() && r.granted()) {
                // Granted pre-votes carry the term we would campaign in; the term changes when
                // the pre-vote wins and the real election starts.
            } else {
                boolean fromLeader = m instanceof AppendEntries || m instanceof Heartbeat
                        || m instanceof InstallSnapshot;
                becomeFollower(m.term(), fromLeader ? m.from() : 0);
            }
        } else if (m.term() < term) {
            if (m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot) {
                // Figure 2: reply false with our term. Essential with pre-vote/check-quorum: a stale
                // leader (e.g. just healed from a partition) would otherwise never learn the new
                // term, since pre-vote keeps higher terms from reaching it through elections.
                send(new AppendEntriesResponse(groupId, id, m.from(), term, false, 0, 0, 0));
            } else if (m instanceof RequestVote rv && rv.preVote()) {
                send(new RequestVoteResponse(groupId, id, m.from(), term, false, true));
            }
            return VALID;
        }

        if (m instanceof RequestVote rv) {
            elections.handleRequestVote(rv);
            return VALID;
        }
        switch (role) {
            case LEADER -> leader.step(m);
            case CANDIDATE, PRE_CANDIDATE -> receiver.stepCandidate(m, elections);
            case FOLLOWER -> receiver.stepFollower(m, elections);
        }
        afterLeaderCommit();
        return VALID;
    }

    // ---------------------------------------------------------------- Ready

    /** Whether this group is quiesced (RaftConfig.quiesce): its ticks do nothing until it wakes. */
    public boolean isQuiesced() {
        return quiescence.isQuiesced();
    }

    /**
     * Driver feedback: the node of {@code peer} is unreachable (its link went silent or down). A
     * follower quiesced under that leader wakes, so that its election timer can replace a leader
     * that may be gone; a leader no longer waits for that peer before quiescing.
     */
    public void peerUnreachable(long peer) {
        checkNoReadyOutstanding();
        if (quiescence.unreachable(peer) && role != Role.LEADER && leaderId == peer) {
            wake();
        }
    }

    /**
     * Driver feedback: the node of {@code peer} is reachable again. A leader that quiesced without
     * it wakes to catch it up (it quiesces again once every reachable follower holds its log).
     */
    public void peerReachable(long peer) {
        checkNoReadyOutstanding();
        if (quiescence.reachable(peer) && role == Role.LEADER) {
            wake();
        }
    }

    /** Whether the driver reported {@code peer} unreachable and nothing was heard from it since. */
    boolean isUnreachable(long peer) {
        return quiescence.isUnreachable(peer);
    }

    /** Ends quiescence, with fresh timers. */
    void wake() {
        if (quiescence.wake()) {
            electionElapsed = 0;
            heartbeatElapsed = 0;
        }
    }

    /** A follower holding its leader's whole log stops its timers (LogReceiver, on a quiesce heartbeat). */
    void quiesceFollower() {
        quiescence.quiesce();
    }

    /** A message from {@code leader} of this term: the election timer restarts. */
    void heardFromLeader(long leader) {
        electionElapsed = 0;
        leaderId = leader;
    }

    /** Whether {@link #ready()} has anything; cheap, so idle groups cost little. */
    public boolean hasReady() {
        return !outbox.isEmpty() || log.hasUnstable() || hardStateChanged() || lastApplied < applyLimit();
    }

    public Ready ready() {
        checkNoReadyOutstanding();
        if (role == Role.LEADER) {
            leader.flushProposals();
        }
        HardState hs = hardStateChanged() ? hardState() : null;
        boolean termOrVoteChanged = hs != null && (hs.term() != prevHardState.term() || hs.votedFor() != prevHardState.votedFor());
        long limit = applyLimit();
        List<Entry> committed = lastApplied < limit ? log.slice(lastApplied + 1, limit + 1, config.maxApplyBytes()) : List.of();
        Ready rd = outbox.take(hs, log.unstableEntries(), role == Role.LEADER && !termOrVoteChanged, committed,
                log.unstableSnapshot());
        readyOutstanding = true;
        return rd;
    }

    /**
     * The driver has persisted, sent and applied {@code rd}. A leader counts its own entries toward
     * the commit quorum only here, once they are durable (dissertation §10.2.1).
     */
    public void advance(Ready rd) {
        InvariantViolation.check(readyOutstanding, "advance without ready");
        readyOutstanding = false;
        if (rd.hardState() != null) {
            prevHardState = rd.hardState();
        }
        if (rd.snapshot() != null) {
            // Installed into storage and state machine: applying continues after it.
            long index = rd.snapshot().index();
            InvariantViolation.check(lastApplied <= index && index <= commitIndex,
                    "node %d installed snapshot %d with applied %d, commit %d", id, index, lastApplied, commitIndex);
            log.stableSnapTo(index);
            lastApplied = index;
            membership.appliedSnapshot(rd.snapshot());
        }
        if (!rd.entries().isEmpty()) {
            Entry last = rd.entries().get(rd.entries().size() - 1);
            log.stableTo(last.index(), last.term());
            if (role == Role.LEADER) {
                leader.ownEntriesDurable(log.durableLastIndex());
            }
        }
        if (!rd.committedEntries().isEmpty()) {
            long first = rd.committedEntries().get(0).index();
            long last = rd.committedEntries().get(rd.committedEntries().size() - 1).index();
            InvariantViolation.check(first == lastApplied + 1 && last <= commitIndex,
                    "node %d applied [%d,%d] after %d with commit %d", id, first, last, lastApplied, commitIndex);
            lastApplied = last;
            membership.appliedEntries(rd.committedEntries());
        }
        fence = fence.liftedBy(log.lastTerm()) ? RecoveryFence.NONE : fence; // once durable (RecoveryFence#liftedBy)
        afterLeaderCommit();
    }

    private boolean hardStateChanged() {
        return term != prevHardState.term() || votedFor != prevHardState.votedFor()
                || commitIndex != prevHardState.commitIndex() || !fence.equals(prevHardState.fence());
    }

    /** Committed entries may be applied once durable here too. */
    private long applyLimit() {
        return Math.min(commitIndex, log.durableLastIndex());
    }

    private void checkNoReadyOutstanding() {
        if (readyOutstanding) {
            throw new IllegalStateException("node " + id + ": call advance() before using the core again");
        }
    }

    // ---------------------------------------------------------------- role changes

    void becomeFollower(long newTerm, long leader) {
        reset(newTerm);
        role = Role.FOLLOWER;
        leaderId = leader;
    }

    void becomePreCandidate() {
        InvariantViolation.check(role != Role.LEADER, "leader cannot become pre-candidate");
        // Not reset(): a pre-candidate keeps its term and vote (§9.6).
        elections.clearVotes();
        leaderId = 0;
        role = Role.PRE_CANDIDATE;
    }

    void becomeCandidate() {
        InvariantViolation.check(role != Role.LEADER, "leader cannot become candidate");
        reset(term + 1);
        votedFor = id;
        role = Role.CANDIDATE;
    }

    void becomeLeader() {
        InvariantViolation.check(role == Role.CANDIDATE, "node %d became leader from %s", id, role);
        reset(term);
        role = Role.LEADER;
        leaderId = id;
        leader = new Leader(this); // appends the term's no-op and starts replicating
    }

    /** Clears per-term volatile state. The term never goes back; a new term clears the vote. */
    private void reset(long newTerm) {
        InvariantViolation.check(newTerm >= term, "node %d: term going back from %d to %d", id, term, newTerm);
        if (leader != null) {
            leader.failPendingRequests();
            leader = null;
        }
        if (newTerm != term) {
            term = newTerm;
            votedFor = 0;
        }
        leaderId = 0;
        electionElapsed = 0;
        heartbeatElapsed = 0;
        randomizedElectionTimeout = config.electionTick() + config.random().nextInt(config.electionTick());
        elections.clearVotes();
    }

    // ---------------------------------------------------------------- elections

    private void tickElection() {
        electionElapsed++;
        if (electionElapsed >= config.electionTick()) {
            startupLease = false;
        }
        if (electionElapsed >= randomizedElectionTimeout && configuration().isVoter(id) && !fence.isUp()) {
            electionElapsed = 0;
            elections.campaign(config.preVote() ? Elections.CampaignType.PRE_VOTE : Elections.CampaignType.ELECTION);
        }
    }

    private void tickHeartbeat() {
        leader.tick();
        heartbeatElapsed++;
        electionElapsed++;
        if (electionElapsed >= config.electionTick()) {
            electionElapsed = 0;
            if (!leader.electionTimeoutElapsed()) {
                becomeFollower(term, 0); // §6.2: cannot reach a majority; stop serving
                return;
            }
        }
        if (heartbeatElapsed >= config.heartbeatTick()) {
            heartbeatElapsed = 0;
            if (config.quiesce() && leader.canQuiesce()) {
                leader.bcastQuiesce();
                quiescence.quiesce();
                return;
            }
            leader.bcastHeartbeat();
        }
    }

    // ---------------------------------------------------------------- per-role steps

    void commitTo(long index) {
        if (index <= commitIndex) {
            return; // commitIndex never decreases
        }
        InvariantViolation.check(index <= log.lastIndex(),
                "node %d: commit %d beyond last index %d (log lost or corrupted?)", id, index, log.lastIndex());
        commitIndex = index;
        if (membership.committed(index)) {
            configurationChanged();
        }
    }

    /** Appends to the log; every entry the core appends goes through here (configuration tracking). */
    void appendToLog(List<Entry> entries) {
        log.append(entries);
        long implied = membership.appended(entries);
        if (implied > commitIndex) {
            commitTo(implied);
        }
    }

    /** Replaces the log by a leader's snapshot (Figure 13 steps 7-8). */
    void restoreLog(Snapshot s) {
        log.restore(s);
        if (membership.restored(s)) {
            configurationChanged();
        }
    }

    private void configurationChanged() {
        updatePeers();
        if (leader != null) {
            leader.configurationChanged();
        }
    }

    private void updatePeers() {
        Configuration c = membership.configuration();
        peers = c.members().stream().mapToLong(Long::longValue).filter(v -> v != id).sorted().toArray();
        voterPeers = c.allVoters().stream().mapToLong(Long::longValue).filter(v -> v != id).sorted().toArray();
    }

    /**
     * After anything that may have moved a leader's commit: leave a committed joint configuration
     * (the automatic second step), and step down once a committed configuration no longer has
     * this leader as a voter (§4.2.2: it led without counting itself in C_new until then).
     */
    private void afterLeaderCommit() {
        if (role != Role.LEADER) {
            return;
        }
        Configuration c = configuration();
        if (c.isJoint()) {
            leader.maybeLeaveJoint();
        } else if (!c.isVoter(id)) {
            leader.handOverOnRemoval();
            becomeFollower(term, 0);
        }
    }

    // ---------------------------------------------------------------- shared with Leader

    RaftConfig config() {
        return config;
    }

    long[] peers() {
        return peers;
    }

    /** Voters of either half other than this node, sorted: whom a candidate asks. */
    long[] voterPeers() {
        return voterPeers;
    }

    RecoveryFence fence() {
        return fence;
    }

    /** Grants this term's vote to {@code candidate}: persisted before the answer leaves (§5.2). */
    void grantVote(long candidate) {
        InvariantViolation.check(votedFor == 0 || votedFor == candidate, "node %d voting twice in term %d", id, term);
        electionElapsed = 0;
        votedFor = candidate;
        outbox.ackAfterPersist();
    }

    void addReadState(ReadState rs) {
        outbox.readState(rs);
    }

    void addFailure(Failure f) {
        outbox.failure(f);
    }

    void send(Message m) {
        outbox.send(m);
    }

    /** The queued messages acknowledge appended entries or a snapshot: persist before sending. */
    void ackAfterPersist() {
        outbox.ackAfterPersist();
    }

    @Override
    public String toString() {
        return "RaftCore{id=" + id + " " + role + " term=" + term + " vote=" + votedFor + " commit=" + commitIndex
                + " applied=" + lastApplied + " last=" + log.lastIndex() + " leader=" + leaderId + "}";
    }
}
