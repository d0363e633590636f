package io.flotilla.raft;

import io.flotilla.raft.Message.AppendEntries;
import io.flotilla.raft.Message.AppendEntriesResponse;
import io.flotilla.raft.Message.Heartbeat;
import io.flotilla.raft.Message.HeartbeatResponse;
import io.flotilla.raft.Message.InstallSnapshot;
import io.flotilla.raft.Message.ReadIndexRequest;
import io.flotilla.raft.Message.ReadIndexResponse;
import io.flotilla.raft.Message.RequestVoteResponse;
import io.flotilla.raft.log.RaftLog;
import io.flotilla.raft.quorum.Configuration;
import java.util.Optional;

/**
 * The checks of a peer's message that need this node's state, run by {@link RaftCore#step} after
 * {@link MessageValidator} and before the message's term is looked at, so that an invalid message
 * cannot even move this node to a new term. Pure: reads the core, changes nothing.
 *
 * <p>What is deliberately NOT checked: that the sender of a leader's or candidate's message
 * (AppendEntries, heartbeat, InstallSnapshot, TimeoutNow, RequestVote) is in our configuration. A
 * joining node knows no configuration yet; a lagging node may not yet have the entry that added
 * the leader of a later term; a node promoted before this one learned of it may ask for a vote; a
 * removed leader hands over with TimeoutNow. Dropping those would cut such nodes off for good.
 */
final class MessageStateCheck {

    private static final Optional<DropReason> VALID = Optional.empty();

    private MessageStateCheck() {}

    static Optional<DropReason> check(RaftCore core, Message m) {
        Configuration c = core.configuration();
        long term = core.term();
        RaftLog log = core.log();
        // Answers to a leader's or candidate's requests, and reads forwarded to a leader, come from
        // nodes that got those requests: members of our configuration (a leader replicates to the
        // committed configuration's members only). A node removed a moment ago may still answer in
        // our term or an older one: harmless, the roles ignore it. But a stranger's answer must
        // not move us to its term (that alone would depose a leader). A joining node (EMPTY
        // configuration) knows nobody yet. A granted pre-vote carries the term we would campaign
        // in and never moves ours: one from a node removed since we asked is merely not counted.
        boolean answersUs = m instanceof AppendEntriesResponse || m instanceof HeartbeatResponse
                || m instanceof ReadIndexRequest || m instanceof RequestVoteResponse;
        boolean movesTerm = !(m instanceof RequestVoteResponse r && r.preVote() && r.granted());
        if (answersUs && movesTerm && m.term() > term && !c.isEmpty() && !c.isMember(m.from())) {
            return Optional.of(DropReason.NOT_A_MEMBER);
        }
        if (core.role() == Role.LEADER && m.term() == term) {
            if (m instanceof AppendEntries || m instanceof Heartbeat || m instanceof InstallSnapshot) {
                return Optional.of(DropReason.SECOND_LEADER);
            }
            // This leader's log only grows during its term, and every index a follower reports (a
            // match, a rejected prevLogIndex) came from it: a larger match would stall commit.
            if (m instanceof AppendEntriesResponse r && r.index() > log.lastIndex()) {
                return Optional.of(DropReason.BEYOND_LOG);
            }
        }
        if (m instanceof ReadIndexResponse && (m.term() > term
                || (m.term() == term && core.leaderId() != 0 && m.from() != core.leaderId()))) {
            // Only the leader we forwarded to answers, in the term we asked in: a read index from
            // anyone else could serve a stale read. (A pre-vote that failed forgets the leader but
            // not the term: its late answer is still good.)
            return Optional.of(DropReason.NOT_FROM_LEADER);
        }
        if (m.term() >= term) {
            // A leader's heartbeat commits at most its matchIndex for us, which we hold.
            if (m instanceof Heartbeat hb && hb.commitIndex() > log.lastIndex()) {
                return Optional.of(DropReason.BEYOND_LOG);
            }
            // Leader Completeness: a current leader's log holds our committed prefix. (A stale
            // leader's may not: it is answered with a rejection, never checked.)
            if (m instanceof AppendEntries ae && !agreesWithCommittedPrefix(ae, log, core.commitIndex())) {
                return Optional.of(DropReason.CONFLICTS_WITH_COMMITTED);
            }
        }
        return VALID;
    }

    /**
     * Whether the parts of {@code ae} at or below our commit index agree with our log. Entries
     * compacted into our snapshot can no longer be compared: the snapshot covers only committed
     * entries, so they match any current leader's.
     */
    private static boolean agreesWithCommittedPrefix(AppendEntries ae, RaftLog log, long commitIndex) {
        long prev = ae.prevLogIndex();
        if (prev < commitIndex && !log.isCompacted(prev) && log.term(prev) != ae.prevLogTerm()) {
            return false;
        }
        for (Entry e : ae.entries()) {
            if (e.index() > commitIndex) {
                break; // entries are consecutive (MessageValidator)
            }
            if (!log.isCompacted(e.index()) && log.term(e.index()) != e.term()) {
                return false;
            }
        }
        return true;
    }
}
