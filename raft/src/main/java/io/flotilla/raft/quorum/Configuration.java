package io.flotilla.raft.quorum;

import java.util.Map;
import java.util.Set;
import java.util.function.LongUnaryOperator;

/**
 * The group's membership as the quorum arithmetic sees it. Today a single voter set; joint
 * consensus (§4.3) will add an outgoing voter set, and every method below becomes "both halves
 * agree" (min of the committed indexes, both elections won) — callers do not change.
 */
public record Configuration(Set<Long> voters) {

    public Configuration {
        voters = Set.copyOf(voters);
        if (voters.isEmpty()) {
            throw new IllegalArgumentException("a configuration needs at least one voter");
        }
    }

    public boolean isVoter(long id) {
        return voters.contains(id);
    }

    /** The largest index replicated on a quorum. */
    public long committedIndex(LongUnaryOperator matchIndexOf) {
        return QuorumMath.committedIndex(voters, matchIndexOf);
    }

    public QuorumMath.VoteResult voteResult(Map<Long, Boolean> votes) {
        return QuorumMath.voteResult(voters, votes);
    }

    public boolean isQuorum(Set<Long> active) {
        return QuorumMath.isQuorum(voters, active);
    }
}
