package io.flotilla.raft;

import io.flotilla.raft.Message.AppendEntries;
import io.flotilla.raft.Message.AppendEntriesResponse;
import io.flotilla.raft.Message.Heartbeat;
import io.flotilla.raft.Message.HeartbeatResponse;
import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.Message.ReadIndexResponse;
import io.flotilla.raft.Message.RequestVoteResponse;
import io.flotilla.raft.Message.TimeoutNow;
import io.flotilla.raft.log.RaftLog;
import java.util.List;

/**
 * The receiver side of replication, for a follower (or a candidate that just learned of a leader):
 * how followers and candidates step a message, and the AppendEntries (Figure 2), InstallSnapshot
 * (Figure 13) and heartbeat receiver implementations, quiesce heartbeats included. Stateless apart
 * from the core it works on; split from {@code RaftCore} so that each file holds one idea, as
 * {@link Leader} holds the sender side.
 */
final class LogReceiver {

    private final RaftCore core;
    private final RaftLog log;
    private final long id;
    private final long groupId;

    LogReceiver(RaftCore core) {
        this.core = core;
        this.log = core.log();
        this.id = core.id();
        this.groupId = core.groupId();
    }

    /**
     * AppendEntries receiver implementation, Figure 2 steps 1-5. {@code ae} passed
     * {@link MessageValidator} (its entries follow prevLogIndex one by one) and
     * {@link MessageStateCheck}.
     */
    void handleAppendEntries(AppendEntries ae) {
        long commitIndex = core.commitIndex();
        long term = core.term();
        if (ae.prevLogIndex() < commitIndex) {
            // Everything up to commitIndex matches any current leader (Leader Completeness; the
            // core checked this message against our committed prefix before stepping it, see
            // MessageStateCheck), so just report commitIndex.
            core.send(new AppendEntriesResponse(groupId, id, ae.from(), term, true, commitIndex, 0, 0));
            return;
        }
        if (log.matchTerm(ae.prevLogIndex(), ae.prevLogTerm())) {
            long lastNew = ae.prevLogIndex() + ae.entries().size();
            long conflict = log.findConflict(ae.entries());
            if (conflict != 0) {
                InvariantViolation.check(conflict > commitIndex,
                        "node %d: entry %d conflicts with committed prefix (commit %d)", id, conflict, commitIndex);
                List<Entry> entries = ae.entries();
                core.appendToLog(entries.subList((int) (conflict - ae.prevLogIndex() - 1), entries.size()));
            }
            core.commitTo(Math.min(ae.leaderCommit(), lastNew));
            core.send(new AppendEntriesResponse(groupId, id, ae.from(), term, true, lastNew, 0, 0));
            core.ackAfterPersist();
        } else {
            long[] hint = log.findConflictByTerm(Math.min(ae.prevLogIndex(), log.lastIndex()), ae.prevLogTerm());
            core.send(new AppendEntriesResponse(groupId, id, ae.from(), term, false, ae.prevLogIndex(), hint[0], hint[1]));
        }
    }

    /**
     * InstallSnapshot receiver implementation (Figure 13, §7). The acknowledgement is sent only
     * once the Ready that installs the snapshot is durable ({@code RaftCore.ackAfterPersist}).
     */
    void handleInstallSnapshot(InstallSnapshot is) {
        long commitIndex = core.commitIndex();
        long term = core.term();
        Snapshot s = is.snapshot();
        if (s.index() <= commitIndex) {
            // Stale (a duplicate, or we caught up meanwhile): we already hold everything it covers.
            core.send(new AppendEntriesResponse(groupId, id, is.from(), term, true, commitIndex, 0, 0));
            return;
        }
        if (log.matchTerm(s.index(), s.term())) {
            // Figure 13 step 6: our log already holds the snapshot's last entry, so by Log Matching
            // everything before it too; keep the entries that follow it and just commit.
            core.commitTo(s.index());
        } else {
            // Steps 7-8: discard the entire log (any suffix after a mismatch is uncommitted here,
            // since s.index() > commitIndex) and continue from the snapshot.
            core.restoreLog(s);
            core.commitTo(s.index());
        }
        core.send(new AppendEntriesResponse(groupId, id, is.from(), term, true, s.index(), 0, 0));
        core.ackAfterPersist();
    }

    /** A follower's step: messages from its leader restart its election timer. */
    void stepFollower(Message m, Elections elections) {
        if (m instanceof AppendEntries ae) {
            core.heardFromLeader(ae.from());
            handleAppendEntries(ae);
        } else if (m instanceof Heartbeat hb) {
            core.heardFromLeader(hb.from());
            if (hb.quiesce()) {
                handleQuiesceHeartbeat(hb);
            } else {
                handleHeartbeat(hb);
            }
        } else if (m instanceof InstallSnapshot is) {
            core.heardFromLeader(is.from());
            handleInstallSnapshot(is);
        } else if (m instanceof TimeoutNow) {
            if (core.configuration().isVoter(id) && !core.fence().isUp()) {
                elections.campaign(Elections.CampaignType.TRANSFER);
            }
        } else if (m instanceof ReadIndexResponse r) {
            core.addReadState(new ReadState(r.requestId(), r.readIndex()));
        }
        // Anything else is a response to an old role or a request meant for a leader: ignore.
    }

    /** A (pre-)candidate's step: votes count; a leader's message of this term ends the campaign. */
    void stepCandidate(Message m, Elections elections) {
        if (m instanceof RequestVoteResponse r) {
            elections.onVoteResponse(r);
        } else if (m instanceof AppendEntries ae) {
            core.becomeFollower(core.term(), ae.from()); // someone else won this term
            handleAppendEntries(ae);
        } else if (m instanceof Heartbeat hb) {
            core.becomeFollower(core.term(), hb.from());
            handleHeartbeat(hb);
        } else if (m instanceof InstallSnapshot is) {
            core.becomeFollower(core.term(), is.from());
            handleInstallSnapshot(is);
        }
    }

    /**
     * A leader's quiesce heartbeat: a follower holding exactly the leader's (committed) log stops
     * its timers and answers nothing (an answer would wake the leader); one that does not answers
     * as to any heartbeat, which wakes the leader to catch it up.
     */
    private void handleQuiesceHeartbeat(Heartbeat hb) {
        core.commitTo(hb.commitIndex());
        if (log.lastIndex() == hb.commitIndex() && core.commitIndex() == hb.commitIndex()
                && log.lastTerm() == core.term()) {
            core.quiesceFollower();
        } else {
            core.wake();
            handleHeartbeat(hb);
        }
    }

    void handleHeartbeat(Heartbeat hb) {
        core.commitTo(hb.commitIndex());
        core.send(new HeartbeatResponse(groupId, id, hb.from(), core.term(), hb.readContext()));
    }
}
