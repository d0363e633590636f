package io.flotilla.raft;

import io.flotilla.raft.Message.AppendEntries;
import io.flotilla.raft.Message.AppendEntriesResponse;
import io.flotilla.raft.Message.Heartbeat;
import io.flotilla.raft.Message.HeartbeatResponse;
import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.Message.ReadIndexRequest;
import io.flotilla.raft.Message.ReadIndexResponse;
import io.flotilla.raft.Message.TimeoutNow;
import io.flotilla.raft.log.RaftLog;
import io.flotilla.raft.tracker.Progress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The state and behaviour a node has only while it leads one term (Kafka raft's LeaderState):
 * per-peer {@link Progress} (Figure 2's nextIndex/matchIndex), replication and commit, ReadIndex
 * rounds and leadership transfer. Created by {@code RaftCore.becomeLeader}, discarded when the
 * term ends; protocol state shared with other roles (term, log, commitIndex) stays in the core.
 */
final class Leader {

    private final RaftCore core;
    private final RaftConfig config;
    private final RaftLog log;
    private final long id;
    private final long term;
    private final Map<Long, Progress> progress = new TreeMap<>();
    private long leadTransferee;
    /** ReadIndex requests and rounds (§6.4). */
    private final LeaderReads reads;
    /** Indexes of entries this leader proposed that are not yet known committed. */
    private final IndexQueue pendingProposals = new IndexQueue();
    private boolean proposalsUnsent;
    /**
     * The last configuration entry this leader appended, or its no-op: no new change until it is
     * committed (etcd's pendingConfIndex). Starting at the no-op means a new leader first commits
     * an entry of its term, so every configuration entry in its log is committed before it adds
     * one (the fix for the single-server-change bug, and what Membership's implied commit relies on).
     */
    private long pendingConfIndex;

    /** Lease reads (off unless RaftConfig.leaseRead). */
    private final Lease lease;
    private boolean timeoutNowSent;

    Leader(RaftCore core) {
        this.core = core;
        this.config = core.config();
        this.log = core.log();
        this.id = core.id();
        this.term = core.term();
        this.lease = new Lease(config);
        this.reads = new LeaderReads(this, core);
        for (long v : core.configuration().members()) {
            progress.put(v, new Progress(log.lastIndex() + 1, config.maxInflight()));
        }
        Progress self = progress.get(id);
        self.maybeUpdate(log.durableLastIndex()); // only what is durable counts (§10.2.1)
        self.becomeReplicate();
        // The no-op lets the leader commit entries of earlier terms (§5.4.2, §6.4).
        core.appendToLog(List.of(Entry.noop(log.lastIndex() + 1, term)));
        pendingConfIndex = log.lastIndex();
        bcastAppend();
    }

    Progress progress(long peer) {
        return progress.get(peer);
    }

    long leadTransferee() {
        return leadTransferee;
    }

    // ---------------------------------------------------------------- client requests

    ProposeResult propose(byte[] data) {
        if (leadTransferee != 0) {
            return new Rejected(RaftError.TRANSFER_IN_PROGRESS, id);
        }
        if (log.lastIndex() - core.commitIndex() >= config.maxUncommittedEntries()) {
            return new Rejected(RaftError.OVERLOADED, id);
        }
        long index = log.lastIndex() + 1;
        core.appendToLog(List.of(new Entry(index, term, EntryType.NORMAL, data)));
        pendingProposals.addLast(index);
        // Not sent yet: every proposal of this round goes out in one AppendEntries per follower
        // when the driver asks for the Ready (flushProposals), instead of one message each.
        proposalsUnsent = true;
        return new ProposeResult.Accepted(index, term);
    }

    ConfChangeResult proposeConfChange(ConfChange change) {
        if (leadTransferee != 0) {
            return new ConfChangeResult.Refused(ConfChangeError.TRANSFER_IN_PROGRESS, id, "leadership transfer in progress");
        }
        if (pendingConfIndex > core.commitIndex() || core.configuration().isJoint()) {
            return new ConfChangeResult.Refused(ConfChangeError.CHANGE_PENDING, id,
                    "a configuration change is not finished (or this leader has not committed its first entry)");
        }
        var outcome = io.flotilla.raft.confchange.Changer.apply(core.configuration(), change);
        if (!outcome.ok()) {
            return new ConfChangeResult.Refused(outcome.error(), id, outcome.detail());
        }
        var target = outcome.configuration();
        if (core.testOnlySkipJointConsensus && target.isJoint()) {
            target = io.flotilla.raft.confchange.Changer.leaveJoint(target);
        }
        long index = appendConfEntry(new ConfEntry(change, false, target));
        pendingProposals.addLast(index);
        return new ConfChangeResult.Accepted(index, term, target);
    }

    /**
     * The joint configuration this leader is in is committed: append the entry that leaves it
     * (C_new), once (the second step of §4.3, automatic as etcd's auto-leave). A leader elected in
     * a joint configuration does so after committing its no-op.
     */
    void maybeLeaveJoint() {
        if (pendingConfIndex > core.commitIndex()) {
            return;
        }
        var current = core.configuration();
        appendConfEntry(new ConfEntry(new ConfChange(List.of()), true,
                io.flotilla.raft.confchange.Changer.leaveJoint(current)));
    }

    private long appendConfEntry(ConfEntry ce) {
        long index = log.lastIndex() + 1;
        core.appendToLog(List.of(new Entry(index, term, EntryType.CONF_CHANGE, ce.encode())));
        pendingConfIndex = index;
        proposalsUnsent = true;
        return index;
    }

    /** The committed configuration changed: track new members, forget removed ones. */
    void configurationChanged() {
        var c = core.configuration();
        for (long m : c.members()) {
            if (!progress.containsKey(m)) {
                progress.put(m, new Progress(log.lastIndex() + 1, config.maxInflight()));
            }
        }
        // Our own progress stays: we lead until the caller sees we are no longer a voter.
        progress.keySet().removeIf(m -> m != id && !c.isMember(m));
        lease.forgetNonVoters(c); // a removed voter's ack no longer counts
        if (leadTransferee != 0 && !c.isVoter(leadTransferee)) {
            leadTransferee = 0;
        }
    }

    /**
     * This leader is no longer a voter (it removed itself): before stepping down, hand over to the
     * most caught-up voter with TimeoutNow so the group does not wait an election timeout.
     */
    void handOverOnRemoval() {
        long best = 0;
        long bestMatch = -1;
        // In id order: Set.of's iteration order changes from one JVM to the next, and a tie must
        // go the same way every time (the simulator replays a seed exactly).
        for (long v : new java.util.TreeSet<>(core.configuration().voters())) {
            Progress pr = progress.get(v);
            if (pr != null && pr.matchIndex() > bestMatch) {
                best = v;
                bestMatch = pr.matchIndex();
            }
        }
        if (best != 0 && bestMatch == log.lastIndex()) {
            sendTimeoutNow(best);
        }
    }

    /** Sends this round's new proposals to every follower; called once per Ready. */
    void flushProposals() {
        if (proposalsUnsent) {
            proposalsUnsent = false;
            bcastAppend();
        }
    }

    void transferLeadership(long target) {
        if (target == id || target == leadTransferee) {
            return;
        }
        leadTransferee = target;
        if (progress.get(target).matchIndex() == log.lastIndex()) {
            sendTimeoutNow(target);
        } else {
            sendAppend(target);
        }
    }

    /** The leader steps down: everything it accepted but did not finish fails (retryable). */
    void failPendingRequests() {
        for (int i = 0; i < pendingProposals.size(); i++) {
            long index = pendingProposals.get(i);
            core.addFailure(new Failure(Failure.Kind.PROPOSAL, index, RaftError.LEADERSHIP_LOST));
        }
        pendingProposals.clear();
        for (ReadOnly.Request r : reads.drainAll()) {
            if (r.from() == id) {
                core.addFailure(new Failure(Failure.Kind.READ, r.id(), RaftError.LEADERSHIP_LOST));
            }
            // Forwarded reads are dropped: the follower's caller times out and retries.
        }
    }

    // ---------------------------------------------------------------- time

    /**
     * Once per election timeout: false if a majority was not heard from (check-quorum, §6.2).
     * Also abandons a leadership transfer that did not finish in time.
     */
    boolean electionTimeoutElapsed() {
        leadTransferee = 0;
        for (Progress pr : progress.values()) {
            if (pr.snapshotTimedOut()) {
                pr.becomeProbe(); // the snapshot (or its answer) was lost: probe, and resend if needed
            }
        }
        if (!config.checkQuorum()) {
            return true;
        }
        Set<Long> active = new HashSet<>();
        active.add(id);
        for (Map.Entry<Long, Progress> e : progress.entrySet()) {
            if (e.getKey() != id && e.getValue().recentActive()) {
                active.add(e.getKey());
            }
            e.getValue().setRecentActive(false);
        }
        return core.configuration().isQuorum(active);
    }

    // ---------------------------------------------------------------- messages

    void step(Message m) {
        if (m instanceof AppendEntriesResponse r) {
            handleAppendEntriesResponse(r);
        } else if (m instanceof HeartbeatResponse r) {
            handleHeartbeatResponse(r);
        } else if (m instanceof ReadIndexRequest r) {
            if (progress.containsKey(r.from())) {
                reads.handle(new ReadOnly.Request(r.from(), r.requestId()));
            } // else not a member (any more): its read times out, as one whose request was lost
        } else if (m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot) {
            // MessageStateCheck drops these (SECOND_LEADER) before any role sees them.
            throw new InvariantViolation("two leaders in term " + term + ": " + id + " and " + m.from());
        }
        // Vote responses and TimeoutNow are stale here: ignore.
    }

    private void handleAppendEntriesResponse(AppendEntriesResponse r) {
        Progress pr = progress.get(r.from());
        if (pr == null) {
            return; // not a member (any more)
        }
        pr.setRecentActive(true);
        if (!r.success()) {
            long nextProbe = r.rejectHintIndex();
            if (r.rejectHintTerm() > 0) {
                // Skip every entry of a term the follower does not have (fast backtracking).
                nextProbe = log.findConflictByTerm(r.rejectHintIndex(), r.rejectHintTerm())[0];
            }
            if (pr.maybeDecrTo(r.index(), nextProbe)) {
                if (pr.state() == Progress.State.REPLICATE) {
                    pr.becomeProbe();
                }
                sendAppend(r.from());
            }
            return;
        }
        boolean wasPaused = pr.isPaused();
        if (!pr.maybeUpdate(r.index())) {
            return; // stale or duplicate
        }
        switch (pr.state()) {
            case PROBE -> pr.becomeReplicate();
            case REPLICATE -> pr.inflights().freeLE(r.index());
            case SNAPSHOT -> {
                if (pr.matchIndex() + 1 >= log.firstIndex()) {
                    pr.becomeReplicate(); // installed: the rest is in our log
                } else if (pr.matchIndex() >= pr.pendingSnapshot()) {
                    pr.becomeProbe(); // installed, but we compacted further meanwhile: send the newer one
                }
            }
        }
        if (maybeCommit()) {
            bcastAppend();
            if (!progress.containsKey(r.from())) {
                return; // the commit removed it
            }
        } else if (wasPaused) {
            sendAppend(r.from());
        }
        while (maybeSendAppend(r.from(), false)) {
            // stream the rest of the log while the window allows
        }
        if (r.from() == leadTransferee && pr.matchIndex() == log.lastIndex()) {
            sendTimeoutNow(r.from());
        }
    }

    private void handleHeartbeatResponse(HeartbeatResponse r) {
        Progress pr = progress.get(r.from());
        if (pr == null) {
            return;
        }
        pr.setRecentActive(true);
        pr.heartbeatAcked();
        lease.acknowledged(r.from(), r.readContext());
        if (pr.matchIndex() < log.lastIndex()) {
            sendAppend(r.from());
        }
        if (r.readContext() != 0) {
            reads.acknowledged(r.from(), r.readContext());
        }
    }

    // ---------------------------------------------------------------- replication and commit

    /** The driver made the leader's entries up to {@code durableIndex} durable (§10.2.1). */
    void ownEntriesDurable(long durableIndex) {
        progress.get(id).maybeUpdate(durableIndex);
        if (maybeCommit()) {
            bcastAppend();
        }
    }

    /** Figure 8 / §5.4.2: commit only by counting replicas of an entry of the current term. */
    private boolean maybeCommit() {
        long index = core.configuration().committedIndex(v -> progress.get(v).matchIndex());
        long commitIndex = core.commitIndex();
        if (index <= commitIndex) {
            return false;
        }
        if (log.term(index) != term && !core.testOnlyCommitOlderTerms) {
            return false;
        }
        boolean firstCommitOfTerm = log.term(commitIndex) != term;
        core.commitTo(index);
        while (!pendingProposals.isEmpty() && pendingProposals.first() <= index) {
            pendingProposals.removeFirst();
        }
        if (firstCommitOfTerm && log.term(index) == term) {
            reads.termCommitted();
        }
        return true;
    }

    private void bcastAppend() {
        for (long p : core.peers()) {
            sendAppend(p);
        }
    }

    void sendAppend(long to) {
        maybeSendAppend(to, true);
    }

    /**
     * Sends entries from nextIndex (or an empty probe if {@code sendIfEmpty}); false if nothing was
     * sent. If the entries the follower needs were compacted, sends the snapshot instead (§7).
     */
    private boolean maybeSendAppend(long to, boolean sendIfEmpty) {
        Progress pr = progress.get(to);
        if (pr.isPaused()) {
            return false;
        }
        if (pr.nextIndex() < log.firstIndex()) {
            sendSnapshot(to, pr);
            return false; // paused until the follower answers
        }
        long prevIndex = pr.nextIndex() - 1;
        long prevTerm = log.term(prevIndex);
        List<Entry> entries = log.entries(pr.nextIndex(), config.maxSizePerMsg(), config.maxEntriesPerMsg());
        if (entries.isEmpty() && !sendIfEmpty) {
            return false;
        }
        core.send(new AppendEntries(config.groupId(), id, to, term, prevIndex, prevTerm, entries, core.commitIndex()));
        pr.sentEntries(entries.isEmpty() ? prevIndex : entries.get(entries.size() - 1).index(), !entries.isEmpty());
        return true;
    }

    private void sendSnapshot(long to, Progress pr) {
        Snapshot snapshot = log.snapshot();
        InvariantViolation.check(!snapshot.isEmpty() && snapshot.index() >= log.firstIndex() - 1,
                "leader %d: log starts at %d but the snapshot is %s", id, log.firstIndex(), snapshot);
        InvariantViolation.check(snapshot.index() <= core.commitIndex(),
                "leader %d: snapshot %s beyond commit %d", id, snapshot, core.commitIndex());
        core.send(new InstallSnapshot(config.groupId(), id, to, term, snapshot));
        pr.becomeSnapshot(snapshot.index());
    }

    /** The driver could not deliver the snapshot to {@code peer}: probe again. */
    void snapshotFailed(long peer) {
        Progress pr = progress.get(peer);
        if (pr.state() == Progress.State.SNAPSHOT) {
            pr.becomeProbe();
        }
    }

    /**
     * Whether this leader's group is idle enough to quiesce (RaftConfig.quiesce): nothing proposed,
     * read or transferring, everything committed and applied here, the no-op of its term committed,
     * no membership change in flight, and every follower holding the whole log but those the
     * driver reported unreachable (down, cut off: a dead node must not keep every group awake;
     * when it is reachable again, the leader wakes to catch it up).
     */
    boolean canQuiesce() {
        long last = log.lastIndex();
        if (!pendingProposals.isEmpty() || proposalsUnsent || !reads.isIdle()
                || leadTransferee != 0 || core.commitIndex() != last || core.lastApplied() != last
                || log.term(last) != term || pendingConfIndex > core.commitIndex() || core.configuration().isJoint()) {
            return false;
        }
        Set<Long> caughtUp = new HashSet<>();
        caughtUp.add(id);
        for (Map.Entry<Long, Progress> e : progress.entrySet()) {
            Progress pr = e.getValue();
            if (e.getKey() == id) {
                continue;
            }
            if (pr.matchIndex() == last && pr.state() == Progress.State.REPLICATE) {
                caughtUp.add(e.getKey());
            } else if (!core.isUnreachable(e.getKey())) {
                return false; // a reachable follower still behind: keep replicating
            }
        }
        return core.configuration().isQuorum(caughtUp);
    }

    /** The last heartbeat before quiescing: followers holding the whole log stop their timers. */
    void bcastQuiesce() {
        for (long p : core.peers()) {
            long commit = Math.min(progress.get(p).matchIndex(), core.commitIndex());
            core.send(new Heartbeat(config.groupId(), id, p, term, commit, 0, true));
        }
    }

    void bcastHeartbeat() {
        long context = reads.roundContext();
        if (config.leaseRead()) {
            context = reads.newContext();
            lease.heartbeatSent(context);
        }
        for (long p : core.peers()) {
            // Never tell a follower to commit past what it is known to hold.
            long commit = Math.min(progress.get(p).matchIndex(), core.commitIndex());
            core.send(new Heartbeat(config.groupId(), id, p, term, commit, context));
        }
    }

    // ---------------------------------------------------------------- reads (§6.4)

    /**
     * TimeoutNow lets its target's election bypass stickiness, and it may arrive late — after the
     * transfer was abandoned — so a leader that sent one never serves lease reads again in its term.
     */
    private void sendTimeoutNow(long target) {
        timeoutNowSent = true;
        core.send(new TimeoutNow(config.groupId(), id, target, term));
    }

    /** One tick of this leader's clock (lease accounting). */
    void tick() {
        lease.tick();
    }

    /** The lease (§6.4.1, {@link Lease}); a transfer voids it: its election bypasses stickiness. */
    boolean leaseValid() {
        return config.leaseRead() && leadTransferee == 0 && !timeoutNowSent
                && lease.heldBy(id, core.configuration());
    }

    /** A ReadIndex request of this node's ({@code from} = id) or a follower's (§6.4). */
    void handleReadIndex(ReadOnly.Request request) {
        reads.handle(request);
    }
}
