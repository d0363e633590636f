package io.flotilla.raft;

import io.flotilla.raft.Message.RequestVote;
import io.flotilla.raft.Message.RequestVoteResponse;
import io.flotilla.raft.quorum.QuorumMath;
import java.util.HashMap;
import java.util.Map;

/**
 * Elections (§5.2, §5.4.1; pre-vote §9.6; leadership transfer §3.10): a campaign's requests, the
 * count of its votes, and the rules for granting ours. Holds only this term's tally; the term,
 * the vote and the role stay in {@link RaftCore}, which this calls to change them, so role changes
 * still happen only in its {@code becomeX} methods. Split from the core as {@link Leader} and
 * {@link LogReceiver} are.
 */
final class Elections {

    enum CampaignType { PRE_VOTE, ELECTION, TRANSFER }

    private final RaftCore core;
    private final Map<Long, Boolean> votes = new HashMap<>();

    Elections(RaftCore core) {
        this.core = core;
    }

    void clearVotes() {
        votes.clear();
    }

    /** Becomes a (pre-)candidate and asks every voter; a single voter wins at once. */
    void campaign(CampaignType type) {
        long voteTerm;
        if (type == CampaignType.PRE_VOTE) {
            core.becomePreCandidate();
            voteTerm = core.term() + 1;
        } else {
            core.becomeCandidate();
            voteTerm = core.term();
        }
        votes.put(core.id(), true);
        if (core.configuration().voteResult(votes) == QuorumMath.VoteResult.WON) {
            won(); // single voter
            return;
        }
        var log = core.log();
        for (long p : core.voterPeers()) {
            core.send(new RequestVote(core.groupId(), core.id(), p, voteTerm, log.lastIndex(), log.lastTerm(),
                    type == CampaignType.PRE_VOTE, type == CampaignType.TRANSFER));
        }
    }

    private void won() {
        if (core.role() == Role.PRE_CANDIDATE) {
            campaign(CampaignType.ELECTION);
        } else {
            core.becomeLeader();
        }
    }

    /** A (pre-)candidate counts a vote of its own phase. */
    void onVoteResponse(RequestVoteResponse r) {
        if (r.preVote() != (core.role() == Role.PRE_CANDIDATE)) {
            return; // a response from the other phase
        }
        votes.putIfAbsent(r.from(), r.granted());
        switch (core.configuration().voteResult(votes)) {
            case WON -> won();
            case LOST -> core.becomeFollower(core.term(), 0);
            case PENDING -> { }
        }
    }

    /**
     * §5.2, §5.4.1: one vote per term, only for a log at least as up to date as ours; none behind a
     * fence, and none from a replica that knows no configuration yet (a placeholder for a range
     * this node has not received: it holds nothing, so its vote would let a candidate win on the
     * word of a replica that never saw the range's committed entries; docs/ranges.md).
     */
    void handleRequestVote(RequestVote rv) {
        long term = core.term();
        long votedFor = core.votedFor();
        boolean canVote = !core.fence().isUp() && !core.configuration().isEmpty() && (votedFor == rv.from()
                || (votedFor == 0 && core.leaderId() == 0)
                || (rv.preVote() && rv.term() > term));
        if (canVote && core.log().isUpToDate(rv.lastLogIndex(), rv.lastLogTerm())) {
            core.send(new RequestVoteResponse(core.groupId(), core.id(), rv.from(), rv.term(), true, rv.preVote()));
            if (!rv.preVote()) {
                core.grantVote(rv.from());
            }
        } else {
            core.send(new RequestVoteResponse(core.groupId(), core.id(), rv.from(), term, false, rv.preVote()));
        }
    }
}
